"""Workers AI model catalog, derived from workerd ``ai.d.ts`` (shared/specs index).

Kinds: ``classic`` (``{"response": ...}`` text generation, legacy tool calls),
``scout`` (classic output with ``{id, type, function{arguments: object}}`` tool calls),
``chat`` (OpenAI chat-completions schema, even on ``/ai/run``), ``embedding``,
``other`` (task models the emulator does not run: image, audio, classification...).
Generated once from ``workers-ai-models-index.workerd.json``; edit by hand afterwards.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["classic", "scout", "chat", "embedding", "other"]

WORKERS_AI_MODELS: dict[str, Kind] = {
    "@cf/huggingface/distilbert-sst-2-int8": "other",
    "@cf/stabilityai/stable-diffusion-xl-base-1.0": "other",
    "@cf/runwayml/stable-diffusion-v1-5-inpainting": "other",
    "@cf/runwayml/stable-diffusion-v1-5-img2img": "other",
    "@cf/lykon/dreamshaper-8-lcm": "other",
    "@cf/bytedance/stable-diffusion-xl-lightning": "other",
    "@cf/myshell-ai/melotts": "other",
    "@cf/google/embeddinggemma-300m": "embedding",
    "@cf/microsoft/resnet-50": "other",
    "@cf/meta/llama-2-7b-chat-int8": "classic",
    "@cf/mistral/mistral-7b-instruct-v0.1": "classic",
    "@cf/meta/llama-2-7b-chat-fp16": "classic",
    "@hf/thebloke/llama-2-13b-chat-awq": "classic",
    "@hf/thebloke/mistral-7b-instruct-v0.1-awq": "classic",
    "@hf/thebloke/zephyr-7b-beta-awq": "classic",
    "@hf/thebloke/openhermes-2.5-mistral-7b-awq": "classic",
    "@hf/thebloke/neural-chat-7b-v3-1-awq": "classic",
    "@hf/thebloke/deepseek-coder-6.7b-base-awq": "classic",
    "@hf/thebloke/deepseek-coder-6.7b-instruct-awq": "classic",
    "@cf/deepseek-ai/deepseek-math-7b-instruct": "classic",
    "@cf/defog/sqlcoder-7b-2": "classic",
    "@cf/openchat/openchat-3.5-0106": "classic",
    "@cf/tiiuae/falcon-7b-instruct": "classic",
    "@cf/thebloke/discolm-german-7b-v1-awq": "classic",
    "@cf/qwen/qwen1.5-0.5b-chat": "classic",
    "@cf/qwen/qwen1.5-7b-chat-awq": "classic",
    "@cf/qwen/qwen1.5-14b-chat-awq": "classic",
    "@cf/tinyllama/tinyllama-1.1b-chat-v1.0": "classic",
    "@cf/microsoft/phi-2": "classic",
    "@cf/qwen/qwen1.5-1.8b-chat": "classic",
    "@cf/mistral/mistral-7b-instruct-v0.2-lora": "classic",
    "@hf/nousresearch/hermes-2-pro-mistral-7b": "classic",
    "@hf/nexusflow/starling-lm-7b-beta": "classic",
    "@hf/google/gemma-7b-it": "classic",
    "@cf/meta-llama/llama-2-7b-chat-hf-lora": "classic",
    "@cf/google/gemma-2b-it-lora": "classic",
    "@cf/google/gemma-7b-it-lora": "classic",
    "@hf/mistral/mistral-7b-instruct-v0.2": "classic",
    "@cf/meta/llama-3-8b-instruct": "classic",
    "@cf/fblgit/una-cybertron-7b-v2-bf16": "classic",
    "@cf/meta/llama-3-8b-instruct-awq": "classic",
    "@cf/meta/llama-3.1-8b-instruct": "classic",  # in the catalog, not typed in workerd
    "@cf/meta/llama-3.1-8b-instruct-fp8": "classic",
    "@cf/meta/llama-3.1-8b-instruct-awq": "classic",
    "@cf/meta/llama-3.2-3b-instruct": "classic",
    "@cf/meta/llama-3.2-1b-instruct": "classic",
    "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b": "classic",
    "@cf/ibm-granite/granite-4.0-h-micro": "classic",
    "@cf/facebook/bart-large-cnn": "other",
    "@cf/llava-hf/llava-1.5-7b-hf": "other",
    "@cf/baai/bge-base-en-v1.5": "embedding",
    "@cf/openai/whisper": "other",
    "@cf/meta/m2m100-1.2b": "other",
    "@cf/baai/bge-small-en-v1.5": "embedding",
    "@cf/baai/bge-large-en-v1.5": "embedding",
    "@cf/unum/uform-gen2-qwen-500m": "other",
    "@cf/openai/whisper-tiny-en": "other",
    "@cf/openai/whisper-large-v3-turbo": "other",
    "@cf/baai/bge-m3": "embedding",
    "@cf/black-forest-labs/flux-1-schnell": "other",
    "@cf/meta/llama-3.2-11b-vision-instruct": "classic",
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast": "classic",
    "@cf/meta/llama-guard-3-8b": "classic",
    "@cf/baai/bge-reranker-base": "other",
    "@cf/qwen/qwen2.5-coder-32b-instruct": "classic",
    "@cf/qwen/qwq-32b": "classic",
    "@cf/mistralai/mistral-small-3.1-24b-instruct": "classic",
    "@cf/google/gemma-3-12b-it": "classic",
    "@cf/meta/llama-4-scout-17b-16e-instruct": "scout",
    "@cf/qwen/qwen3-30b-a3b-fp8": "chat",
    "@cf/deepgram/nova-3": "other",
    "@cf/qwen/qwen3-embedding-0.6b": "embedding",
    "@cf/pipecat-ai/smart-turn-v2": "other",
    "@cf/openai/gpt-oss-120b": "chat",
    "@cf/openai/gpt-oss-20b": "chat",
    "@cf/leonardo/phoenix-1.0": "other",
    "@cf/leonardo/lucid-origin": "other",
    "@cf/deepgram/aura-1": "other",
    "@cf/ai4bharat/indictrans2-en-indic-1B": "other",
    "@cf/aisingapore/gemma-sea-lion-v4-27b-it": "chat",
    "@cf/pfnet/plamo-embedding-1b": "embedding",
    "@cf/deepgram/flux": "other",
    "@cf/deepgram/aura-2-en": "other",
    "@cf/deepgram/aura-2-es": "other",
    "@cf/black-forest-labs/flux-2-dev": "other",
    "@cf/black-forest-labs/flux-2-klein-4b": "other",
    "@cf/black-forest-labs/flux-2-klein-9b": "other",
    "@cf/zai-org/glm-4.7-flash": "chat",
    "@cf/moonshotai/kimi-k2.5": "chat",
    "@cf/moonshotai/kimi-k2.6": "chat",
    "@cf/nvidia/nemotron-3-120b-a12b": "chat",
    "@cf/google/gemma-4-26b-a4b-it": "chat",
}

EMBEDDING_DIMS: dict[str, int] = {
    "@cf/baai/bge-small-en-v1.5": 384,
    "@cf/baai/bge-base-en-v1.5": 768,
    "@cf/baai/bge-large-en-v1.5": 1024,
    "@cf/baai/bge-m3": 1024,
    "@cf/google/embeddinggemma-300m": 768,
    "@cf/qwen/qwen3-embedding-0.6b": 1024,
    "@cf/pfnet/plamo-embedding-1b": 2048,
    "openai/text-embedding-3-small": 1536,
    "openai/text-embedding-3-large": 3072,
}
"""Vector size per embedding model (third-party ones only on ``/ai/v1/embeddings``)."""

THIRD_PARTY_CHAT: frozenset[str] = frozenset({
    "openai/gpt-5.5", "openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-5-nano",
    "openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-4o", "openai/gpt-4o-mini",
    "openai/gpt-audio", "openai/gpt-4o-audio-preview",
    "anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5", "anthropic/claude-opus-4.5",
    "google/gemini-3-flash", "google/gemini-2.5-flash", "google/gemini-2.5-pro",
    "xai/grok-3", "xai/grok-4", "deepseek/deepseek-chat", "deepseek/deepseek-reasoner",
    "alibaba/qwen3-max",
})
"""Third-party chat slugs the emulator knows; any other ``author/model`` is 404/7003."""

REASONING_MODELS: frozenset[str] = frozenset({
    "@cf/moonshotai/kimi-k2.5", "@cf/moonshotai/kimi-k2.6", "@cf/openai/gpt-oss-120b",
    "@cf/openai/gpt-oss-20b", "@cf/zai-org/glm-4.7-flash", "@cf/google/gemma-4-26b-a4b-it",
    "@cf/nvidia/nemotron-3-120b-a12b", "@cf/qwen/qwen3-30b-a3b-fp8", "@cf/qwen/qwq-32b",
    "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", "deepseek/deepseek-reasoner",
})
"""Models that always think; any request with ``reasoning_effort`` thinks too."""

REASONING_FIELD_REASONING: frozenset[str] = frozenset({
    "@cf/zai-org/glm-4.7-flash", "@cf/google/gemma-4-26b-a4b-it",
    "@cf/nvidia/nemotron-3-120b-a12b",
})
"""Chat-schema models naming the field ``reasoning`` (the others: ``reasoning_content``)."""


def provider_of(model: str) -> str:
    """The ``cf-aig-provider`` slug for a model id."""
    if model.startswith(("@cf/", "@hf/")):
        return "workers-ai"
    return model.split("/", 1)[0]
