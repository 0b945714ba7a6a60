"""Opinion camps (in the manner of Polis and Talk to the City): units, clusters, names, bridging points."""

from agent.camps.cluster import BridgingPoint, Camp, CampAnalysis, find_camps
from agent.camps.naming import NAMING_SYSTEM_PROMPT, name_camps, naming_schema
from agent.camps.units import ArgumentUnit, SourcePost, split_units

__all__ = [
    "NAMING_SYSTEM_PROMPT",
    "ArgumentUnit",
    "BridgingPoint",
    "Camp",
    "CampAnalysis",
    "SourcePost",
    "find_camps",
    "name_camps",
    "naming_schema",
    "split_units",
]
