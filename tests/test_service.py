"""facepaint serve: the protocol as plain tests (real engine, real sockets and shared memory)."""

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from facepaint.service import EngineService, PixelLayout
from conftest import pan_frames

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "obs"))
from facepaint_client import EngineClient  # noqa: E402


def i420(width, height):
    return {"format": "I420", "width": width, "height": height,
            "planes": [[width, height], [width // 2, height // 2], [width // 2, height // 2]]}


def to_layout(layout: PixelLayout, rgb: np.ndarray) -> bytearray:
    buf = bytearray(layout.size)
    layout.write(rgb, buf)
    return buf


@pytest.mark.parametrize("fmt, planes", [
    ("I420", [[64, 48], [32, 24], [32, 24]]), ("NV12", [[64, 48], [64, 24]]), ("I444", [[64, 48]] * 3),
    ("YUY2", [[128, 48]]), ("UYVY", [[128, 48]]), ("BGRA", [[256, 48]]), ("RGBA", [[264, 48]])])
def test_pixel_layouts_round_trip(astronaut, fmt, planes):
    rgb = np.ascontiguousarray(astronaut[100:148, 200:264])
    layout = PixelLayout(fmt, 64, 48, planes, None)
    back = layout.rgb(to_layout(layout, rgb))
    assert back.shape == rgb.shape
    tolerance = 1.0 if fmt in ("BGRA", "RGBA", "I444") else 6.0  # chroma subsampling loses some colour
    assert np.abs(back.astype(int) - rgb).mean() < tolerance


@pytest.fixture
def service(tmp_path):
    service = EngineService(str(tmp_path / "fp.sock"), device="cpu")
    thread = threading.Thread(target=service.serve_forever, daemon=True)
    thread.start()
    yield service
    service.stop()
    thread.join(10)


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def open_client(service, slots=16, width=320, height=320):
    client = EngineClient(service.path)
    assert client.connect({"op": "open", "mode": "anonymize", "options": {}, "slots": slots, **i420(width, height)}), \
        client.error
    return client


def test_frames_come_back_in_order_with_faces_anonymized(service, astronaut):
    client = open_client(service)
    layout = PixelLayout(**{k: v for k, v in i420(320, 320).items() if k != "format"}, fmt="I420", matrix=None)
    frames = pan_frames(astronaut, 12)
    order = []
    for seq, image in enumerate(frames):
        wait_for(client.can_submit)
        client.input_slot(seq)[:] = to_layout(layout, image)
        client.submit(seq, seq / 25)
        # Results come back ``lookback`` frames late (held back for late-found faces).
        ready = seq - client.lookback
        if ready < 0:
            continue
        wait_for(lambda: client.result(ready) is not None)
        order.append(ready)
        result = client.result(ready)
        image = frames[ready]
        assert result["changed"] and len(result["faces"]) == 1 and result["hidden"] == []
        out = layout.rgb(client.output_slot(ready))
        x0, y0, x1, y1 = (int(v) for v in result["faces"][0])
        assert np.abs(out[y0 + 10:y1 - 10, x0 + 10:x1 - 10].astype(int) - image[y0 + 10:y1 - 10, x0 + 10:x1 - 10]).mean() > 10
    assert client.lookback == 8 and order == list(range(12 - 8))
    assert client.latency_ms > 0 and service.status()["frames"] == 4
    client.close()


def test_back_pressure_caps_frames_in_flight(service, astronaut):
    client = open_client(service, slots=10)
    layout = PixelLayout("I420", 320, 320, i420(320, 320)["planes"], None)
    for seq in range(10):
        client.input_slot(seq)[:] = to_layout(layout, pan_frames(astronaut, 1)[0])
        client.submit(seq, seq / 25)
    assert not client.can_submit()  # the ring is full of frames in flight: the host must wait or conceal
    wait_for(lambda: client.result(1) is not None)
    assert client.can_submit()
    client.close()


def test_a_client_that_dies_frees_its_engine_and_memory(service):
    import socket

    client = open_client(service)
    assert service.status()["clients"] == 1 and os.path.exists(client.memory_path)
    client._sock.shutdown(socket.SHUT_RDWR)  # the host crashed: no goodbye
    wait_for(lambda: service.status()["clients"] == 0)
    assert not os.path.exists(client.memory_path)


def test_two_sources_share_one_service(service, astronaut):
    clients = [open_client(service), open_client(service)]
    layout = PixelLayout("I420", 320, 320, i420(320, 320)["planes"], None)
    for c in clients:
        for seq in range(c.lookback + 1):
            c.input_slot(seq)[:] = to_layout(layout, pan_frames(astronaut, 1)[0])
            c.submit(seq, seq / 25)
    for c in clients:
        wait_for(lambda: c.result(0) is not None)
        assert c.result(0)["faces"]
    assert service.status()["clients"] == 2
    for c in clients:
        c.close()


def test_a_service_that_dies_is_seen_as_down(tmp_path):
    service = EngineService(str(tmp_path / "fp.sock"), device="cpu")
    thread = threading.Thread(target=service.serve_forever, daemon=True)
    thread.start()
    client = open_client(service)
    service.stop()
    thread.join(10)
    wait_for(lambda: client.state == "down", timeout=10)
    assert not client.can_submit()
    assert not os.path.exists(service.path)


def test_unsupported_format_is_refused(service):
    client = EngineClient(service.path)
    ok = client.connect({"op": "open", "mode": "anonymize", "format": "P010", "width": 8, "height": 8,
                         "planes": [[16, 8]], "slots": 2}, timeout=10)
    assert not ok and "not supported" in client.error


def test_animate_returns_the_portrait_driven_by_the_frames(service, astronaut, tmp_path):
    import cv2

    portrait = tmp_path / "portrait.png"
    cv2.imwrite(str(portrait), astronaut[:, :, ::-1])
    client = EngineClient(service.path)
    assert client.connect({"op": "open", "mode": "animate", "options": {"portrait": str(portrait), "size": 256},
                           "slots": 8, **i420(320, 320)}), client.error
    assert client.lookback == 0 and client.output["format"] == "BGRA"
    width, height = client.output["width"], client.output["height"]
    assert max(width, height) == 256
    layout = PixelLayout("I420", 320, 320, i420(320, 320)["planes"], None)
    pictures = []
    for seq, image in enumerate(pan_frames(astronaut, 6, step=8)):
        client.input_slot(seq)[:] = to_layout(layout, image)
        client.submit(seq, seq / 25)
        wait_for(lambda: client.result(seq) is not None)
        pictures.append(np.frombuffer(client.output_slot(seq), np.uint8).reshape(height, width, 4)[..., 2::-1].copy())
    assert np.abs(pictures[0].astype(int) - pictures[-1]).mean() > 1  # the portrait moved with the driver
    client.close()
