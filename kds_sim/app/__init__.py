"""The classroom app: a live, explorable relapse model in the browser (`kds-sim app`).

- model.py: ClassroomModel, the agent engine of KDSModel with a same-seed no-group baseline,
  stories and a fixed layout; Levers, the teaching levers and the scenario keys they set;
- story.py: the model's daily events as plain-language story lines (both languages);
- layout.py: node positions, computed once per network;
- components.py: the Solara page (needs the `app` extra);
- server.py: settings and starting Solara's server on a host and port, offline.

Importing this package does not import Solara: the model, stories and layout work without
the app extra (tests, benchmarks).
"""
