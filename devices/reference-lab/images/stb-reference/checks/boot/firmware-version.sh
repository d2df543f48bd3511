# Firmware versions are x.y.z.
. /etc/devlab/device.conf
echo "$FIRMWARE" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' || { echo "firmware '$FIRMWARE' is not x.y.z"; exit 1; }
