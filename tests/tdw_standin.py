"""A loopback stand-in for a TDW build, so the tdw backend's whole loop runs in tests.

It speaks the build's side of TDW's protocol: a ZMQ REQ socket that connects to the controller's
REP socket, sends one hello, then answers each command list with output-data frames plus a frame
count. `send_version` gets a Version frame; `send_images` (frequency once) gets an Images frame
built with the FlatBuffers classes shipped in `tdw`, holding one PNG `_img` pass of the screen size
whose colour is the last directional-light colour (0..1 -> 0..255), so a test can check that
commands went in and pixels came out. `terminate` ends it.
"""

from __future__ import annotations

import io
import json
import threading
import warnings
from typing import Any

import numpy as np
import zmq
from PIL import Image

with warnings.catch_warnings():  # tdw's flatbuffers copy imports the deprecated `imp`
    warnings.simplefilter("ignore", DeprecationWarning)
    import tdw.flatbuffers as flatbuffers
    from tdw.FBOutput import ImagePass, Images
    from tdw.FBOutput.Extension import Extension
    from tdw.FBOutput.PassMask import PassMask

STANDIN_VERSION = "1.13.0"


def finish_with_identifier(builder: flatbuffers.Builder, root: int, identifier: bytes) -> bytes:
    """`Builder.Finish` with a file identifier (bytes 4:8, where TDW reads the frame's type);
    the flatbuffers copy in tdw predates Finish(file_identifier=...)."""
    builder.Prep(builder.minalign, 8)
    builder.head -= 4
    builder.Bytes[builder.head : builder.head + 4] = identifier
    builder.PrependUOffsetTRelative(root)
    builder.finished = True
    return bytes(builder.Output())


def images_frame(png: bytes, width: int, height: int, avatar_id: str = "a") -> bytes:
    """An Images output-data frame with one PNG `_img` pass."""
    b = flatbuffers.Builder(len(png) + 256)
    data = b.CreateByteVector(png)
    ImagePass.ImagePassStart(b)
    ImagePass.ImagePassAddPassMask(b, PassMask._img)
    ImagePass.ImagePassAddImage(b, data)
    ImagePass.ImagePassAddExtension(b, Extension.png)
    image_pass = ImagePass.ImagePassEnd(b)
    Images.ImagesStartPassesVector(b, 1)
    b.PrependUOffsetTRelative(image_pass)
    passes = b.EndVector(1)
    avatar = b.CreateString(avatar_id)
    sensor = b.CreateString("SensorContainer")
    Images.ImagesStart(b)
    Images.ImagesAddAvatarId(b, avatar)
    Images.ImagesAddSensorName(b, sensor)
    Images.ImagesAddWidth(b, width)
    Images.ImagesAddHeight(b, height)
    Images.ImagesAddPasses(b, passes)
    return finish_with_identifier(b, Images.ImagesEnd(b), b"imag")


def version_frame(version: str = STANDIN_VERSION, unity: str = "2020.3") -> bytes:
    """The build's Version frame, in the layout `tdw.output_data.Version` reads."""
    v = version.encode()
    return b"\0\0\0\0vers\x01" + bytes([len(v)]) + v + unity.encode()


def light_pixel(color: dict[str, float]) -> tuple[int, int, int]:
    return tuple(round(255 * color[k]) for k in ("r", "g", "b"))  # type: ignore[return-value]


class StandInBuild:
    """Runs in a thread; `received` holds every command list the controller sent."""

    def __init__(self, port: int, answer: bool = True) -> None:
        self.port = port
        self.answer = answer  # False: take commands but never reply (a hung build)
        self.received: list[list[dict[str, Any]]] = []
        self.size = (256, 256)
        self.color = {"r": 1.0, "g": 1.0, "b": 1.0}
        self.frame = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StandInBuild:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        context = zmq.Context()
        sock = context.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"tcp://127.0.0.1:{self.port}")
        sock.send(b"0")  # the controller's first recv()
        try:
            while not self._stop.is_set():
                if not sock.poll(20, zmq.POLLIN):
                    continue
                commands = json.loads(sock.recv_multipart()[0])
                self.received.append(commands)
                if not self.answer:
                    continue
                sock.send_multipart(self._reply(commands))
                if any(c["$type"] == "terminate" for c in commands):
                    break
        finally:
            sock.close(linger=0)
            context.term()

    def _reply(self, commands: list[dict[str, Any]]) -> list[bytes]:
        frames: list[bytes] = []
        for command in commands:
            kind = command["$type"]
            if kind == "set_screen_size":
                self.size = (command["width"], command["height"])
            elif kind == "set_directional_light_color":
                self.color = command["color"]
            elif kind == "send_version":
                frames.append(version_frame())
            elif kind == "send_images" and command.get("frequency") == "once":
                frames.append(images_frame(self._png(), *self.size))
        self.frame += 1
        return [*frames, self.frame.to_bytes(4, "little")]

    def _png(self) -> bytes:
        width, height = self.size
        pixels = np.empty((height, width, 3), np.uint8)
        pixels[...] = light_pixel(self.color)
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="PNG")
        return out.getvalue()
