# endoscan: `make run` runs the main job on the bundled sample, `make test` runs every test.
SHELL := /bin/bash
ENV := source scripts/env.sh
BIN := target/release/endoscan

.PHONY: setup build run test lint bench gpu-check-bin

setup:
	@bash scripts/setup

build: setup
	$(ENV) && cargo build --release

run: build
	$(ENV) && $(BIN) reprocess --out out

test: setup
	$(ENV) && cargo test --features train

lint: setup
	$(ENV) && cargo fmt --check && cargo clippy --all-targets --features train -- -D warnings

bench: setup
	$(ENV) && cargo bench --features train

# The binary scripts/gpu-check runs on a GPU machine (no GStreamer or ONNX Runtime needed there).
gpu-check-bin: setup
	$(ENV) && cargo build --release --bin endoscan-gpu-check
	$(ENV) && cargo build --release --features train --bin endoscan-torch-check
