# Scratch storage keeps 1 MiB intact.
dd if=/dev/urandom of=/tmp/roundtrip.bin bs=1024 count=1024 2>/dev/null || { echo "cannot write /tmp"; exit 1; }
a=$(md5sum /tmp/roundtrip.bin | cut -d' ' -f1)
cp /tmp/roundtrip.bin /tmp/roundtrip.copy
b=$(md5sum /tmp/roundtrip.copy | cut -d' ' -f1)
rm -f /tmp/roundtrip.bin /tmp/roundtrip.copy
[ "$a" = "$b" ] || { echo "checksum mismatch $a != $b"; exit 1; }
