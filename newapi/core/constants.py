"""New API's enumerations: roles, statuses, log types, channel types.

Code that runs on every request reads the members it needs as module globals (``_AZURE =
ChannelType.AZURE``), not as ``ChannelType.AZURE`` each time: on Python 3.11 every member read
goes through ``EnumType.__getattr__``'s slow attribute hook, about 870 machine instructions
against about 30 for a global (bench/README.md, "Instructions per chat request"). The same holds
for ``newapi.core.endpoints.Billing``.
"""

from enum import IntEnum


class Role(IntEnum):
    GUEST = 0
    COMMON = 1
    ADMIN = 10
    ROOT = 100


class UserStatus(IntEnum):
    ENABLED = 1
    DISABLED = 2


class TokenStatus(IntEnum):
    ENABLED = 1
    DISABLED = 2
    EXPIRED = 3
    EXHAUSTED = 4


class ChannelStatus(IntEnum):
    UNKNOWN = 0
    ENABLED = 1
    MANUALLY_DISABLED = 2
    AUTO_DISABLED = 3


class RedemptionStatus(IntEnum):
    ENABLED = 1
    DISABLED = 2
    USED = 3


class LogType(IntEnum):
    UNKNOWN = 0
    TOPUP = 1
    CONSUME = 2
    MANAGE = 3
    SYSTEM = 4
    ERROR = 5
    REFUND = 6
    LOGIN = 7


class ChannelType(IntEnum):
    UNKNOWN = 0
    OPENAI = 1
    MIDJOURNEY = 2
    AZURE = 3
    OLLAMA = 4
    MIDJOURNEY_PLUS = 5
    OPENAI_MAX = 6
    OH_MY_GPT = 7
    CUSTOM = 8
    AILS = 9
    AI_PROXY = 10
    PALM = 11
    API2GPT = 12
    AIGC2D = 13
    ANTHROPIC = 14
    BAIDU = 15
    ZHIPU = 16
    ALI = 17
    XUNFEI = 18
    AI360 = 19
    OPENROUTER = 20
    AI_PROXY_LIBRARY = 21
    FASTGPT = 22
    TENCENT = 23
    GEMINI = 24
    MOONSHOT = 25
    ZHIPU_V4 = 26
    PERPLEXITY = 27
    LINGYI_WANWU = 31
    AWS = 33
    COHERE = 34
    MINIMAX = 35
    SUNO = 36
    DIFY = 37
    JINA = 38
    CLOUDFLARE = 39
    SILICONFLOW = 40
    VERTEX_AI = 41
    MISTRAL = 42
    DEEPSEEK = 43
    MOKA_AI = 44
    VOLCENGINE = 45
    BAIDU_V2 = 46
    XINFERENCE = 47
    XAI = 48
    COZE = 49
    KLING = 50
    JIMENG = 51
    VIDU = 52
    SUBMODEL = 53
    DOUBAO_VIDEO = 54
    SORA = 55
    REPLICATE = 56
    CODEX = 57


# New API's default base URLs (constant/channel.go), by channel type.
DEFAULT_BASE_URLS: dict[int, str] = {
    ChannelType.OPENAI: "https://api.openai.com",
    ChannelType.MIDJOURNEY: "https://oa.api2d.net",
    ChannelType.AZURE: "",
    ChannelType.OLLAMA: "http://localhost:11434",
    ChannelType.MIDJOURNEY_PLUS: "https://api.openai-sb.com",
    ChannelType.OPENAI_MAX: "https://api.openaimax.com",
    ChannelType.OH_MY_GPT: "https://api.ohmygpt.com",
    ChannelType.CUSTOM: "",
    ChannelType.AILS: "https://api.caipacity.com",
    ChannelType.AI_PROXY: "https://api.aiproxy.io",
    ChannelType.PALM: "",
    ChannelType.API2GPT: "https://api.api2gpt.com",
    ChannelType.AIGC2D: "https://api.aigc2d.com",
    ChannelType.ANTHROPIC: "https://api.anthropic.com",
    ChannelType.BAIDU: "https://aip.baidubce.com",
    ChannelType.ZHIPU: "https://open.bigmodel.cn",
    ChannelType.ALI: "https://dashscope.aliyuncs.com",
    ChannelType.XUNFEI: "",
    ChannelType.AI360: "https://api.360.cn",
    ChannelType.OPENROUTER: "https://openrouter.ai/api",
    ChannelType.AI_PROXY_LIBRARY: "https://api.aiproxy.io",
    ChannelType.FASTGPT: "https://fastgpt.run/api/openapi",
    ChannelType.TENCENT: "https://hunyuan.tencentcloudapi.com",
    ChannelType.GEMINI: "https://generativelanguage.googleapis.com",
    ChannelType.MOONSHOT: "https://api.moonshot.cn",
    ChannelType.ZHIPU_V4: "https://open.bigmodel.cn",
    ChannelType.PERPLEXITY: "https://api.perplexity.ai",
    ChannelType.LINGYI_WANWU: "https://api.lingyiwanwu.com",
    ChannelType.AWS: "",
    ChannelType.COHERE: "https://api.cohere.ai",
    ChannelType.MINIMAX: "https://api.minimax.chat",
    ChannelType.SUNO: "",
    ChannelType.DIFY: "https://api.dify.ai",
    ChannelType.JINA: "https://api.jina.ai",
    ChannelType.CLOUDFLARE: "https://api.cloudflare.com",
    ChannelType.SILICONFLOW: "https://api.siliconflow.cn",
    ChannelType.VERTEX_AI: "",
    ChannelType.MISTRAL: "https://api.mistral.ai",
    ChannelType.DEEPSEEK: "https://api.deepseek.com",
    ChannelType.MOKA_AI: "https://api.moka.ai",
    ChannelType.VOLCENGINE: "https://ark.cn-beijing.volces.com",
    ChannelType.BAIDU_V2: "https://qianfan.baidubce.com",
    ChannelType.XINFERENCE: "",
    ChannelType.XAI: "https://api.x.ai",
    ChannelType.COZE: "https://api.coze.cn",
    ChannelType.KLING: "https://api.klingai.com",
    ChannelType.JIMENG: "https://visual.volcengineapi.com",
    ChannelType.VIDU: "https://api.vidu.cn",
    ChannelType.SUBMODEL: "https://llm.submodel.ai",
    ChannelType.DOUBAO_VIDEO: "https://ark.cn-beijing.volces.com",
    ChannelType.SORA: "https://api.openai.com",
    ChannelType.REPLICATE: "https://api.replicate.com",
    ChannelType.CODEX: "https://chatgpt.com",
}
