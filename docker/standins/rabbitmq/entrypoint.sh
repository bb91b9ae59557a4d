#!/bin/sh
# Honours the official image's RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS /
# RABBITMQ_DEFAULT_VHOST and lets that user connect from outside the container.
set -e
conf=/etc/rabbitmq/rabbitmq.conf
{
  echo "loopback_users = none"
  echo "listeners.tcp.default = 5672"
  echo "management.tcp.port = 15672"
  echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
  echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
  echo "default_vhost = ${RABBITMQ_DEFAULT_VHOST:-/}"
} > "$conf"
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq "$conf"
if [ "$1" = rabbitmq-server ]; then
  # Debian's /usr/sbin wrapper sends the server's output to a file; the
  # official image logs to stdout, where `docker logs` and testcontainers
  # wait for "Server startup complete".
  shift
  export HOME=/var/lib/rabbitmq
  cd "$HOME"
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
