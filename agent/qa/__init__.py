"""Members' questions answered from the DAO's posts, with citations: retrieval scoped to what the question names,
the model's answer behind a quality gate, and an answer composed from the posts when the model's fails."""

from agent.qa.answer import ASK_SYSTEM_PROMPT, Answer, answer_problems, answer_question, ask_schema
from agent.qa.compose import compose_answer
from agent.qa.scope import QuestionScope, resolve_scope
from agent.qa.service import QAService, build_qa

__all__ = [
    "ASK_SYSTEM_PROMPT",
    "Answer",
    "QAService",
    "QuestionScope",
    "answer_problems",
    "answer_question",
    "ask_schema",
    "build_qa",
    "compose_answer",
    "resolve_scope",
]
