#!/bin/bash
sleep 100000
