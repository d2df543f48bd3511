# The loopback interface exists (the lab runs devices without external network).
grep -q 'lo:' /proc/net/dev || { echo "no loopback interface in /proc/net/dev"; exit 1; }
