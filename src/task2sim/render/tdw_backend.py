"""The `tdw` backend: scene specs rendered by a ThreeDWorld build that the user starts.

TDW's `Controller` binds a ZMQ REP socket and then blocks, with no timeout, until a build connects;
its constructor would hang forever for a user without a running build. So the backend opens the
socket itself, waits `connect_timeout_s` for the build's first message, and only then hands the
socket to a `Controller` (whose `communicate` it uses unchanged). The same handshake as
`Controller(launch_build=False, check_version=False)` follows. Replies are bounded too
(`reply_timeout_s`), since a build that crashes mid-run would otherwise hang the render.
"""

from __future__ import annotations

import functools
import importlib
import io
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from task2sim.errors import Task2SimError
from task2sim.render.tdw_commands import INSTALL_FIX, TdwWorld, scene_commands, setup_commands
from task2sim.sim.scene import SceneSpec

DEFAULT_PORT = 1071
CLOSE_TIMEOUT_MS = 5000  # how long `close` waits for the build to acknowledge `terminate`


def build_fix(port: int) -> str:
    return (
        f"start your build first: ./TDW.x86_64 -port={port} (it needs a display and a GPU; "
        "add -address=<this machine> when it runs elsewhere), then run again"
    )


def _ensure_pkg_resources() -> None:
    """tdw 1.13 imports `pkg_resources` (only for `resource_filename`), which recent setuptools no
    longer ship; give it that one function so `tdw.controller` imports."""
    try:
        importlib.import_module("pkg_resources")
    except ImportError:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package_or_requirement: str, resource_name: str) -> str:
            module = importlib.import_module(package_or_requirement)
            return str(Path(module.__file__ or "").parent / resource_name)

        shim.resource_filename = resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim


@functools.cache
def import_tdw() -> types.SimpleNamespace:
    """The parts of `tdw` and `zmq` the backend uses, or a Task2SimError with the install fix."""
    try:
        zmq = importlib.import_module("zmq")
        _ensure_pkg_resources()
        with warnings.catch_warnings():  # tdw's flatbuffers copy imports the deprecated `imp`
            warnings.simplefilter("ignore", DeprecationWarning)
            controller = importlib.import_module("tdw.controller")
            output = importlib.import_module("tdw.output_data")
    except ImportError as error:
        raise Task2SimError(
            f"the tdw backend needs the tdw package and pyzmq ({error})", INSTALL_FIX
        ) from None
    return types.SimpleNamespace(
        zmq=zmq,
        Controller=controller.Controller,
        OutputData=output.OutputData,
        Images=output.Images,
        Version=output.Version,
        TimedController=_timed_controller_class(controller.Controller, zmq),
    )


def _timed_controller_class(base: type, zmq: Any) -> type:
    class TimedController(base):  # type: ignore[misc, valid-type]
        """`Controller(launch_build=False, check_version=False)` with a connect timeout."""

        def __init__(self, port: int, connect_timeout_s: float, reply_timeout_s: float | None):
            self.add_ons = []
            self._is_standalone, self._tdw_version, self._unity_version = False, "", ""
            self._context = zmq.Context()
            self.socket = self._context.socket(zmq.REP)
            self.socket.setsockopt(zmq.LINGER, 0)
            try:
                self.socket.bind(f"tcp://*:{port}")
            except zmq.ZMQError as error:
                self.shutdown()
                raise Task2SimError(
                    f"cannot listen for the TDW build on port {port}: {error}",
                    "stop the other TDW controller, or use another port in both the backend "
                    "(port=N) and the build (-port=N)",
                ) from None
            if not self.socket.poll(int(connect_timeout_s * 1000), zmq.POLLIN):
                self.shutdown()
                raise Task2SimError(
                    f"no TDW build connected on port {port} within {connect_timeout_s:g} s",
                    build_fix(port),
                )
            self.socket.recv()  # the build's first message only says it is there
            if reply_timeout_s is not None:
                self.socket.setsockopt(zmq.RCVTIMEO, int(reply_timeout_s * 1000))

        def shutdown(self) -> None:
            self.socket.close(linger=0)
            self._context.term()

    return TimedController


class TdwBackend:
    """Renders scene specs of `world` at `size` pixels on a user-started TDW build (the Backend
    protocol). Connects on the first render; `close` terminates the build, since a TDW build
    cannot serve a second controller."""

    def __init__(
        self,
        world: TdwWorld,
        size: int,
        port: int = DEFAULT_PORT,
        connect_timeout_s: float = 60.0,
        reply_timeout_s: float | None = 600.0,  # first frames download asset bundles
    ) -> None:
        self.world = world
        self.size = size
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.reply_timeout_s = reply_timeout_s
        self.build_version = ""
        self._tdw = import_tdw()
        self._controller: Any = None
        self._previous: SceneSpec | None = None

    def render(self, scene: SceneSpec) -> np.ndarray:
        commands = scene_commands(scene, self.world, self._previous)
        response = self._communicate(commands)
        self._previous = scene
        return decode_image(response, self.size)

    def close(self) -> None:
        controller, self._controller = self._controller, None
        if controller is None:
            return
        try:
            controller.socket.setsockopt(self._tdw.zmq.RCVTIMEO, CLOSE_TIMEOUT_MS)
            controller.communicate([{"$type": "terminate"}])
        except Exception:  # the build may already be gone; closing must not fail
            pass
        finally:
            controller.shutdown()

    def __enter__(self) -> TdwBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> Any:
        if self._controller is None:
            controller = self._tdw.TimedController(
                self.port, self.connect_timeout_s, self.reply_timeout_s
            )
            self._controller = controller
            response = self._communicate(
                [{"$type": "set_error_handling"}, {"$type": "send_version"}]
            )
            for frame in response[:-1]:
                if self._tdw.OutputData.get_data_type_id(frame) == "vers":
                    self.build_version = self._tdw.Version(frame).get_tdw_version()
            self._communicate(setup_commands(self.size, self.world))
        return self._controller

    def _communicate(self, commands: list[dict[str, Any]]) -> list[bytes]:
        controller = self._controller or self._connect()
        try:
            return controller.communicate(commands)
        except self._tdw.zmq.Again:
            self._controller = None
            controller.shutdown()
            raise Task2SimError(
                f"the TDW build on port {self.port} did not answer within "
                f"{self.reply_timeout_s:g} s",
                "check the build's Player.log; raise reply_timeout_s if it is still downloading "
                "asset bundles; restart the build before running again",
            ) from None


def decode_image(response: list[bytes], size: int) -> np.ndarray:
    """The `_img` pass of a TDW response as uint8 RGB (size, size, 3), top row first."""
    tdw = import_tdw()
    for frame in response[:-1]:
        if tdw.OutputData.get_data_type_id(frame) != "imag":
            continue
        images = tdw.Images(frame)
        for i in range(images.get_num_passes()):
            if images.get_pass_mask(i) == "_img":
                image = Image.open(io.BytesIO(images.get_image(i).tobytes())).convert("RGB")
                if image.size != (size, size):  # e.g. a build whose window was capped
                    image = image.resize((size, size), Image.Resampling.BILINEAR)
                return np.asarray(image, dtype=np.uint8)
    raise Task2SimError(
        "the TDW build answered without an _img pass",
        "check that nothing else changes the avatar's pass masks (set_pass_masks)",
    )
