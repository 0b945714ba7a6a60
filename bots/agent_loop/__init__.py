"""The agent loop: Concord's fourth face over :class:`bots.services.Services`, acting on its own with humans in the gate.

=================  ===========================================================================
module             job
=================  ===========================================================================
``steps``          the step ledger: a step key per DAO, proposal and stage, kill-safe, audited
``tick``           one tick for one DAO: ingest → … → outcome
``notify``         the ``Notifier`` protocol; Discord REST and Discourse replies
``forecast``       the ``Forecaster`` protocol and an audit-log implementation
``reports``        the ``ReportWriter`` protocol and the Services-backed report builder
``runner``         wiring from settings, the per-DAO lock, the in-process scheduler
=================  ===========================================================================
"""
