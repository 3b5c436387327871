#!/bin/bash
echo "SKIP: skipped on purpose"
exit 77
