"""bench/realtime.py's settings for processes on channels_redis's `RedisPubSubChannelLayer`.

The production settings with only the channel layer swapped, so the same app (or the stock
consumers of bench/minimal_asgi.py) can be measured on it beside the current layer.
"""

from config.settings import *  # noqa: F403
from config.settings import REDIS_URL, env

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL}],
            "prefix": env.str("CHANNELS_PREFIX", default="asgi"),
        },
    }
}
