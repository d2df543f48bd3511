# 4K adaptive streaming needs 1024 MB for its segment buffers and decoder surfaces.
. /etc/devlab/device.conf
if [ "$MEMORY_MB" -lt 1024 ]; then
  echo "MEMORY_MB=$MEMORY_MB is below the 1024 MB needed for 2160p buffers"
  exit 1
fi
