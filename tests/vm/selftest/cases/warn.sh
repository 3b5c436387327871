#!/bin/bash
insmod "$BOOTSEAL_SRC/build/selftest/$(uname -r)/warnmod.ko"
sleep 30
