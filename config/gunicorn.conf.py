"""gunicorn settings for casemgmt: `gunicorn -c config/gunicorn.conf.py 'casemgmt:create_app()'`.

Serve behind a TLS-terminating reverse proxy (nginx, Caddy) on the same machine; see config/README.md.
"""

import os

# Only the reverse proxy on this machine should reach the application.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: the application keeps no state in process memory, so workers (and servers) can be added freely.
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"

# A request that runs longer than this is killed (and logged). Long jobs (key rotation, erasure) run as CLI commands.
timeout = 60
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then, so that a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

# Files created by the workers are private to the service user (the instance folder holds key material).
umask = 0o077
proc_name = "casemgmt"

# Logs go to stdout/stderr, for journald or the container runtime.
accesslog = "-"
errorlog = "-"
loglevel = "info"

# The access log leaves out the query string (%(q)s), the full request line (%(r)s, which includes it) and the
# Referer (%(f)s): any of them could carry personal data. %(U)s is the path alone; case URLs hold only random ids.
# Fields: client, time, method, path, protocol, status, bytes, duration in ms, user agent.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

# Which proxies are trusted to set X-Forwarded-Proto (and so mark a request as HTTPS, which turns on HSTS and the
# strict CSRF referrer check). gunicorn's default, 127.0.0.1 and ::1, fits a proxy on the same machine. If the proxy
# runs elsewhere, list its address here; never use "*" unless nothing but the proxy can reach this port.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Reject oversized request lines and headers early (gunicorn's defaults, stated here so they are not loosened).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
