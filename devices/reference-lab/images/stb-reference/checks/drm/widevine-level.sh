# Premium content requires hardware-backed Widevine (L1).
. /etc/devlab/device.conf
[ "$DRM_WIDEVINE" = "L1" ] || { echo "Widevine $DRM_WIDEVINE, premium playback requires L1"; exit 1; }
