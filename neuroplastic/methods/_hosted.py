"""Plug-ins that run a host method and add a step around it (``refresh``, ``fpf``): the host is
any registered method, built from ``host`` and ``host_kwargs``; it trains, chooses the batches
and predicts, and the plug-in adds its own step."""
from __future__ import annotations

from ..streams import Experience
from ._method import Method, check

#: methods that wrap a host and cannot be hosts themselves
PLUG_INS = ("refresh", "fpf")


class Hosted(Method):
    def make_host(self, host, host_kwargs, seed: int, example: str) -> None:
        from . import METHODS, make

        check(isinstance(host, str) and host in METHODS and host not in PLUG_INS, "host", host,
              f"a registered method other than {' or '.join(PLUG_INS)}, e.g. {example}")
        check(host_kwargs is None or isinstance(host_kwargs, dict), "host_kwargs", host_kwargs,
              "a table of the host's hyper-parameters, e.g. { buffer_size = 200 }")
        kwargs = dict(host_kwargs or {})
        if "seed" in METHODS[host].param_names():
            kwargs.setdefault("seed", seed)
        self.host_ = make(host, **kwargs)
        self.needs_model, self.scenarios = self.host_.needs_model, self.host_.scenarios

    def setup(self, model, optimizer):
        self.host_.setup(model, optimizer)
        return super().setup(model, optimizer)

    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        self.host_.begin(exp)

    def batches(self, exp: Experience, **kwargs):
        return self.host_.batches(exp, **kwargs)

    def predict(self, x, task=None):
        return self.host_.predict(x, task)
