"""Gemini generateContent requests to and from the neutral model (reference §4.4)."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from newapi.convert import model as m

EFFORT_BUDGET = {"minimal": 512, "low": 1280, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 24576}
# JSON-schema keywords Gemini accepts in function parameters (New API cleans schemas the same way)
_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
)


def _get(node: dict[str, Any], camel: str, snake: str) -> Any:
    value = node.get(camel)
    return node.get(snake) if value is None else value


def clean_schema(schema: Any) -> Any:
    if isinstance(schema, list):
        return [clean_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = clean_schema(value)
        elif key == "type" and isinstance(value, list):  # ["string", "null"] -> nullable string
            kinds = [v for v in value if v != "null"]
            out["type"] = kinds[0] if kinds else "string"
            if len(kinds) < len(value):
                out["nullable"] = True
        else:
            out[key] = value
    if out.get("type") == "object" and not out.get("properties"):
        out.pop("properties", None)
        out.pop("required", None)
    return out


class _Calls:
    """Gemini function calls may carry no id: ids are made up and results matched by name."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, str]] = []  # (id, name) awaiting a result
        self.count = 0

    def new(self, name: str, given: str | None) -> str:
        ident = given or f"call_{self.count}_{name}"
        self.count += 1
        self.pending.append((ident, name))
        return ident

    def result_id(self, name: str, given: str | None) -> str:
        for i, (ident, pending) in enumerate(self.pending):
            if (given and ident == given) or (not given and pending == name):
                del self.pending[i]
                return ident
        return given or f"call_{name}"


def _parts(parts: Any, calls: _Calls) -> list[m.Part]:
    out: list[m.Part] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        signature = str(_get(part, "thoughtSignature", "thought_signature") or "")
        inline = _get(part, "inlineData", "inline_data")
        file = _get(part, "fileData", "file_data")
        call = _get(part, "functionCall", "function_call")
        response = _get(part, "functionResponse", "function_response")
        if call is not None:
            name = str(call.get("name") or "")
            arguments = orjson.dumps(call.get("args") or {}).decode()
            out.append(m.ToolCall(calls.new(name, call.get("id")), name, arguments, signature))
        elif response is not None:
            name = str(response.get("name") or "")
            value = response.get("response")
            content = value.get("content") if isinstance(value, dict) and len(value) == 1 else None
            text = content if isinstance(content, str) else orjson.dumps(value).decode()
            out.append(m.ToolResult(calls.result_id(name, response.get("id")), name, [m.Text(text)]))
        elif inline is not None:
            out.append(
                m.Media(str(_get(inline, "mimeType", "mime_type") or ""), data=str(inline.get("data") or ""))
            )
        elif file is not None:
            out.append(
                m.Media(
                    str(_get(file, "mimeType", "mime_type") or ""), url=str(_get(file, "fileUri", "file_uri"))
                )
            )
        elif part.get("thought") is True:
            out.append(m.Thinking(str(part.get("text") or ""), signature))
        elif "text" in part:
            out.append(m.Text(str(part.get("text") or "")))
            if signature:  # Gemini 2.5 signs the first answer part after its thoughts
                out.insert(len(out) - 1, m.Thinking("", signature))
    return out


def parse_request(body: dict[str, Any], model: str = "") -> m.Request:
    req = m.Request(model=model)
    system = _get(body, "systemInstruction", "system_instruction")
    if isinstance(system, dict):
        req.system = [p for p in _parts(system.get("parts"), _Calls()) if isinstance(p, m.Text)]
    contents = body.get("contents")
    calls = _Calls()
    for content in [contents] if isinstance(contents, dict) else contents or []:
        role: Literal["user", "assistant"] = "assistant" if content.get("role") == "model" else "user"
        req.messages.append(m.Message(role, _parts(content.get("parts"), calls)))
    for tool in body.get("tools") or []:
        for decl in _get(tool, "functionDeclarations", "function_declarations") or []:
            parameters = decl.get("parameters") or _get(
                decl, "parametersJsonSchema", "parameters_json_schema"
            )
            req.tools.append(
                m.Tool(str(decl.get("name") or ""), str(decl.get("description") or ""), parameters)
            )
    config = _get(body, "toolConfig", "tool_config") or {}
    calling = _get(config, "functionCallingConfig", "function_calling_config") or {}
    mode = str(calling.get("mode") or "").upper()
    allowed = _get(calling, "allowedFunctionNames", "allowed_function_names") or []
    if mode == "ANY":
        req.tool_choice = m.ToolChoice("tool", allowed[0]) if len(allowed) == 1 else m.ToolChoice("required")
    elif mode in ("AUTO", "NONE"):
        req.tool_choice = m.ToolChoice("auto" if mode == "AUTO" else "none")
    generation = _get(body, "generationConfig", "generation_config") or {}
    req.max_tokens = _get(generation, "maxOutputTokens", "max_output_tokens")
    req.temperature = generation.get("temperature")
    req.top_p = _get(generation, "topP", "top_p")
    req.top_k = _get(generation, "topK", "top_k")
    req.stop = list(_get(generation, "stopSequences", "stop_sequences") or [])
    req.seed = generation.get("seed")
    mime = _get(generation, "responseMimeType", "response_mime_type")
    schema = _get(generation, "responseSchema", "response_schema") or _get(
        generation, "responseJsonSchema", "response_json_schema"
    )
    if mime == "application/json":
        req.response_format = (
            {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
            if schema
            else {"type": "json_object"}
        )
    thinking = _get(generation, "thinkingConfig", "thinking_config")
    if isinstance(thinking, dict):
        budget = _get(thinking, "thinkingBudget", "thinking_budget")
        if isinstance(budget, int):
            req.thinking_budget = budget
        req.include_thoughts = _get(thinking, "includeThoughts", "include_thoughts") is True
        level = _get(thinking, "thinkingLevel", "thinking_level")
        if isinstance(level, str):
            req.reasoning_effort = level.lower()
        if req.include_thoughts and req.thinking_budget is None:
            req.thinking_budget = -1
    req.include_usage = True
    return req


def _render_part(part: m.Part) -> dict[str, Any] | None:
    if isinstance(part, m.Text):
        return {"text": part.text}
    if isinstance(part, m.Media):
        if part.url and not part.data:
            return {"fileData": {"mimeType": part.media_type, "fileUri": part.url}}
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    if isinstance(part, m.Thinking):
        if part.redacted or not part.signature:
            return None  # only Gemini's own signed thoughts mean anything to it
        return {"text": part.text, "thought": True, "thoughtSignature": part.signature}
    if isinstance(part, m.ToolCall):
        try:
            args = orjson.loads(part.arguments or "{}")
        except orjson.JSONDecodeError:
            args = {}
        out: dict[str, Any] = {
            "functionCall": {"name": part.name, "args": args if isinstance(args, dict) else {}}
        }
        if part.signature:
            out["thoughtSignature"] = part.signature
        return out
    text = m.text_of(list(part.content))
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    response = value if isinstance(value, dict) else {"content": text}
    return {"functionResponse": {"name": part.name, "response": response}}


def render_request(req: m.Request, safety: str = "") -> dict[str, Any]:
    contents: list[dict[str, Any]] = []
    for message in req.messages:
        role = "model" if message.role == "assistant" else "user"
        parts = [p for p in (_render_part(x) for x in message.parts) if p is not None]
        if not parts:
            parts = [{"text": ""}]
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    if req.system:
        body["systemInstruction"] = {"parts": [{"text": "\n".join(t.text for t in req.system)}]}
    if req.tools:
        declarations = []
        for tool in req.tools:
            decl: dict[str, Any] = {"name": tool.name, "description": tool.description}
            parameters = clean_schema(tool.parameters) if tool.parameters else None
            if parameters and parameters.get("properties"):
                decl["parameters"] = parameters
            declarations.append(decl)
        body["tools"] = [{"functionDeclarations": declarations}]
    if req.tool_choice is not None and req.tools:
        choice = req.tool_choice
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}[choice.mode]
        calling: dict[str, Any] = {"mode": mode}
        if choice.mode == "tool":
            calling["allowedFunctionNames"] = [choice.name]
        body["toolConfig"] = {"functionCallingConfig": calling}
    generation = _generation(req)
    if generation:
        body["generationConfig"] = generation
    if safety:
        body["safetySettings"] = [{"category": c, "threshold": safety} for c in SAFETY_CATEGORIES]
    return body


def _generation(req: m.Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if req.max_tokens:
        out["maxOutputTokens"] = req.max_tokens
    if req.temperature is not None:
        out["temperature"] = req.temperature
    if req.top_p:
        out["topP"] = req.top_p
    if req.top_k is not None:
        out["topK"] = req.top_k
    if req.stop:
        out["stopSequences"] = req.stop[:5]
    if req.seed is not None:
        out["seed"] = req.seed
    fmt = req.response_format
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        out["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema:
            out["responseSchema"] = clean_schema(schema)
    budget = req.thinking_budget
    if budget is None and req.reasoning_effort in EFFORT_BUDGET:
        budget = EFFORT_BUDGET[req.reasoning_effort]
    if budget is not None:
        thinking: dict[str, Any] = {"thinkingBudget": budget}
        if budget != 0:
            thinking["includeThoughts"] = True
        out["thinkingConfig"] = thinking
    return out


def embeddings_request(body: dict[str, Any], model: str) -> tuple[dict[str, Any], bool]:
    """An ``embedContent``/``batchEmbedContents`` body as OpenAI embeddings, and whether it was a batch."""
    batch = isinstance(body.get("requests"), list)
    requests = body["requests"] if batch else [body]
    texts = []
    for request in requests:
        content = request.get("content") or {}
        texts.append(
            " ".join(str(p.get("text") or "") for p in content.get("parts") or [] if isinstance(p, dict))
        )
    out: dict[str, Any] = {"model": model, "input": texts}
    dims = requests[0].get("outputDimensionality") if requests else None
    if isinstance(dims, int):
        out["dimensions"] = dims
    return out, batch
