"""The ops files name only metrics the bot serves, and every alert the issue asks for exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from bot.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"\bfrontdesk_[a-z_]+")


def served() -> set[str]:
    names = set()
    for metric in Metrics().registry.collect():
        names.add(metric.name)
        names |= {sample.name for sample in metric.samples}
    # Labelled series exist only once observed; their suffixes are part of the interface.
    for metric in Metrics().registry.collect():
        if metric.type == "histogram":
            names |= {f"{metric.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        if metric.type == "counter":
            names.add(f"{metric.name}_total")
    return names


def test_the_dashboard_and_the_alerts_use_served_metrics() -> None:
    known = served()
    dashboard = json.loads((ROOT / "deploy/grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    rules = yaml.safe_load((ROOT / "deploy/prometheus-alerts.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used and used <= known, used - known
    titles = " | ".join(p["title"] for p in dashboard["panels"]).lower()
    wanted = ("channel", "hand-offs", "first response", "handle time", "sla", "csat", "intents",
              "llm latency", "llm requests", "spend", "breakers", "queue")  # fmt: skip
    for panel in wanted:
        assert panel in titles, panel
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"FrontdeskErrorRate", "FrontdeskQueueBacklog", "FrontdeskUnclaimedPastSLA",
            "FrontdeskSpendNearBudget", "FrontdeskBreakerOpen",
            "FrontdeskChannelDisconnected"} <= alerts  # fmt: skip
