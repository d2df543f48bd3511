# The device declares itself in /etc/devlab/device.conf with every required key.
. /etc/devlab/device.conf || exit 1
for key in MODEL FIRMWARE MEMORY_MB DRM_WIDEVINE CODECS; do
  eval "value=\${$key:-}"
  [ -n "$value" ] || { echo "device.conf lacks $key"; exit 1; }
done
