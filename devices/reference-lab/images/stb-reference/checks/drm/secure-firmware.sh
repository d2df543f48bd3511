# Secure playback paths shipped with firmware 2.0.0.
. /etc/devlab/device.conf
major=${FIRMWARE%%.*}
[ "$major" -ge 2 ] || { echo "firmware $FIRMWARE predates the 2.0.0 secure playback path"; exit 1; }
