"""Routing policy: pure functions from plain data (queues, agent loads) to decisions."""

from routing.policy import AgentLoad, choose_queue, estimate_wait_minutes, pick_agent

__all__ = ["AgentLoad", "choose_queue", "estimate_wait_minutes", "pick_agent"]
