"""Rasa's action server protocol, both ways: helpline's actions served to a Rasa server
(`server`, `actions`; needs the `rasa` extra) and a Rasa action server called by the engine for
actions helpline does not have (`tracker`, `client`, `answer`; plain aiohttp)."""
