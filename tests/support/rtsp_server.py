#!/usr/bin/python3
"""A test RTSP server (GStreamer's RTSP server library through PyGObject): serves a moving
synthetic picture as H.264 at rtsp://127.0.0.1:PORT/scope until killed.

Usage: rtsp_server.py PORT
Needs Debian's python3-gi and gir1.2-gst-rtsp-server-1.0 (scripts/setup installs them)."""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(sys.argv[1])
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! rtph264pay name=pay0 pt=96 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory("/scope", factory)
if server.attach(None) == 0:
    sys.exit(f"rtsp_server.py: cannot listen on port {sys.argv[1]}")
print("ready", flush=True)
GLib.MainLoop().run()
