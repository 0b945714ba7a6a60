"""Outcome prediction: calibrated P(pass) and expected vote shares from what was known before voting began."""

from agent.predict.features import FEATURE_NAMES, FeatureBuilder
from agent.predict.history import History, Rate
from agent.predict.loader import load_directory, parse_time
from agent.predict.model import OutcomeModel
from agent.predict.records import GovData, HistoryPost, HistoryProposal, canonical_choice, canonical_shares
from agent.predict.service import MODEL_NAME, Prediction, predict_proposal, predict_record
from agent.predict.shares import ShareForecaster, SharePrediction
from agent.predict.walkforward import ScoredRow, WalkForwardResult, walk_forward

__all__ = [
    "FEATURE_NAMES",
    "MODEL_NAME",
    "FeatureBuilder",
    "GovData",
    "History",
    "HistoryPost",
    "HistoryProposal",
    "OutcomeModel",
    "Prediction",
    "Rate",
    "ScoredRow",
    "ShareForecaster",
    "SharePrediction",
    "WalkForwardResult",
    "canonical_choice",
    "canonical_shares",
    "load_directory",
    "parse_time",
    "predict_proposal",
    "predict_record",
    "walk_forward",
]
