"""bench/realtime.py's settings for its baseline on channels_redis's core `RedisChannelLayer`.

The production settings with only the channel layer swapped back to the layer production used
before the pub/sub one (one Redis sorted set per group, one channel per socket).
"""

from config.settings import *  # noqa: F403
from config.settings import REDIS_URL, env

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL}],
            "prefix": env.str("CHANNELS_PREFIX", default="asgi"),
            "capacity": 1500,
        },
    }
}
