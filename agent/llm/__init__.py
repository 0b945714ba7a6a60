"""LLM backends: one chat interface over the OpenAI-compatible API, and the embedded llama.cpp server."""

from agent.llm.backend import ChatBackend, ChatMessage, LLMError, LLMTruncatedError, OpenAIChatBackend
from agent.llm.embedded import EmbeddedServer, default_gguf_path, file_sha256, free_port
from agent.llm.factory import backend_for_url, open_chat_backend
from agent.llm.scripted import ChatRequest, ScriptedChatBackend

__all__ = [
    "ChatBackend",
    "ChatMessage",
    "ChatRequest",
    "EmbeddedServer",
    "LLMError",
    "LLMTruncatedError",
    "OpenAIChatBackend",
    "ScriptedChatBackend",
    "backend_for_url",
    "default_gguf_path",
    "file_sha256",
    "free_port",
    "open_chat_backend",
]
