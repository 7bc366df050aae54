#!/usr/bin/env bash
# Start PostgreSQL, MariaDB (MySQL) and Redis on localhost when they are not already running
# (CI runs on a clean clone and must not assume a session's state).
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

if ! redis_up; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
fi
redis_up || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
# MariaDB for the MySQL leg of the suite (root, empty password, as tests/support/services.py expects).
mysql_up() { mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; }
if ! mysql_up; then
  if ! command -v mysqld_safe >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mariadb-server >/dev/null
  fi
  service mariadb start >/dev/null 2>&1 || (mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
  for _ in $(seq 1 30); do mysql_up && break; sleep 1; done
  if ! mysql_up && mysql -uroot -e "SELECT 1" >/dev/null 2>&1; then
    # A fresh Debian install lets root in only through the socket: open it to 127.0.0.1 without a password.
    mysql -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
  fi
fi
mysql_up || { echo "MariaDB/MySQL is not reachable on 127.0.0.1:3306" >&2; exit 1; }
echo "PostgreSQL, MariaDB and Redis are up"
