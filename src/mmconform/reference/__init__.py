"""The embedded Mattermost reference server (the system under test of the suite's own tests).

It never imports the rest of `mmconform`: the suite must reach it only over HTTP, exactly as it
reaches a real Mattermost. Facts it reproduces come from `shared/reference/mattermost-behaviour.md`
and upstream `mattermost/mattermost`; each module says which upstream code it follows.
"""

from mmconform.reference.app import create_app
from mmconform.reference.server import RunningServer, running_server
from mmconform.reference.settings import DEFAULT_VERSION, Settings

__all__ = ["DEFAULT_VERSION", "RunningServer", "Settings", "create_app", "running_server"]
