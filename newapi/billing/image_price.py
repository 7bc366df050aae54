"""New API's price factor of an image request (``dto/openai_image.go`` ``GetTokenCountMeta``).

A per-call image price is multiplied by ``size x quality x n`` before anything else, and the
consume log's ``model_price`` is that product. Only ``dall-e*`` models have size and quality
factors; every other image model is priced per image (``n``) alone.
"""

from __future__ import annotations

#: dall-e size factors, relative to 1024x1024.
_DALLE_SIZE = {"256x256": 0.4, "512x512": 0.45, "1024x1024": 1.0, "1024x1792": 2.0, "1792x1024": 2.0}
_TALL = frozenset({"1024x1792", "1792x1024"})


def image_price_factor(model: str, size: str, quality: str, n: int) -> float:
    """``size ratio x quality ratio x n``: dall-e-3 ``hd`` doubles 1024x1024 and adds half at 1792."""
    size_ratio = 1.0
    quality_ratio = 1.0
    if model.startswith("dall-e"):
        size_ratio = _DALLE_SIZE.get(size, 1.0)
        if model == "dall-e-3" and quality == "hd":
            quality_ratio = 1.5 if size in _TALL else 2.0
    return size_ratio * quality_ratio * max(n, 1)


def image_log_terms(size: str, quality: str, n: int) -> str:
    """What New API's image handler adds to the consume log's content: size, quality, count."""
    terms = [f"大小 {size}"] if size else []
    terms.append(f"品质 {'hd' if quality == 'hd' else 'standard'}")
    terms.append(f"生成数量 {max(n, 1)}")
    return ", ".join(terms)
