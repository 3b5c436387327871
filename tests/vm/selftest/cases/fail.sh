#!/bin/bash
echo "this case fails on purpose"
exit 1
