# Every set-top box must decode H.264.
. /etc/devlab/device.conf
case " $CODECS " in *" h264 "*) exit 0 ;; esac
echo "no h264 decoder in CODECS='$CODECS'"
exit 1
