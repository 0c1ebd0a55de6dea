# The README's commands. Each installs missing Debian packages first (scripts/install-deps.sh).
#   make test      build everything and run the whole test suite through ctest
#   make docs      the API reference (build/docs/html/index.html)
#   make compare   train the three translation models and write the comparison (examples/)
#   make bench     xgrad against PyTorch, side by side (bench/)
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
BUILD_TYPE ?= Release
FUZZ_SECONDS ?= 60

.PHONY: deps configure build test docs real-text compare length-experiment length-paper guided-experiment sweep bench bench-scaling bench-positions sanitize tsan fuzz clean

deps:
	@bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer (without MPI: Open MPI's
# own allocations would read as leaks; this also builds distributed/ in its world-of-one form).
sanitize:
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo \
	  CMAKE_FLAGS="$(CMAKE_FLAGS) -DXGRAD_SANITIZE=address,undefined -DXGRAD_MPI=OFF"

# Under ThreadSanitizer: the loaders' background threads (abandoned mid-epoch many times) and
# threads sharing one model's weight layouts while decoding.
tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_SANITIZE=thread -DXGRAD_BUILD_EXAMPLES=OFF -DXGRAD_MPI=OFF $(CMAKE_FLAGS)
	cmake --build build-tsan -j $(JOBS) --target xgrad_tests
	cd build-tsan && ctest --output-on-failure -R "DataLoader|Loader: |FixedWeightsGuard joined|more threads than it has slots"

# libFuzzer targets (clang) for the TSV reader, the vocabulary loader and the safetensors loader.
fuzz: deps
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

compare: build
	$(BUILD_DIR)/examples/xgrad-translate compare $(ARGS)

# Train short, test long with every model and position encoding of the README's table (150 s
# each, 25.5 minutes on 2 cores).
length-experiment: build
	$(BUILD_DIR)/examples/xgrad-translate compare --out results/length --models rnn bahdanau bahdanau-local \
	  transformer transformer-learned transformer-rotary transformer-alibi transformer-t5 transformer-nope \
	  decoder-only $(ARGS)

# Bahdanau et al.'s Figure 2: RNNenc and RNNsearch trained on sources of at most 50 tokens (the
# at-most-30 pair is in results/length); the four curves in results/length_paper.svg.
length-paper: build
	$(BUILD_DIR)/examples/xgrad-translate compare --out results/length_50 --models rnn bahdanau --train-max-len 50 $(ARGS)
	python3 scripts/length_curves.py results/length results/length_50 --models rnn bahdanau --out results/length_paper.svg

# Guided alignment (weight 0.5) on the length split: against the unguided runs of results/length.
guided-experiment: build
	$(BUILD_DIR)/examples/xgrad-translate compare --out results/guided --models bahdanau transformer \
	  --guided-alignment-weight 0.5 $(ARGS)

# The transformer's training settings on the reordering toy (order sov), trained on at most 30
# tokens: one setting changed at a time, 150 s each (20 minutes): results/sweep/summary.txt.
sweep: build
	bash scripts/transformer_sweep.sh results/sweep

# xgrad against PyTorch 1.13 (Debian's python3-torch), alternating, at 1 and 2 threads.
bench:
	@bash scripts/install-deps.sh --with-torch
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target xgrad_bench_worker
	/usr/bin/python3 bench/run_bench.py --worker $(BUILD_DIR)/examples/xgrad_bench_worker $(ARGS)
	$(MAKE) bench-scaling
	$(MAKE) bench-positions

# The transformer's position encodings side by side (train step and decode, ratio to sinusoidal).
bench-positions:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target xgrad_bench_worker
	python3 bench/positions.py --worker $(BUILD_DIR)/examples/xgrad_bench_worker $(ARGS)

# Attention kernels as the sequence grows (128 ... 8192): time and peak memory, JSON and SVG.
bench-scaling:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target xgrad_attention_scaling
	$(BUILD_DIR)/examples/xgrad_attention_scaling --out results/attention_scaling.json

# Real text (README "Your own corpus"): English-French message catalogues of this machine, a
# SentencePiece transformer and a word-level one, 10 minutes each: results/real_text/summary.txt.
real-text: build
	bash scripts/real_text.sh results/real_text 600 2

# The API reference from the public headers' /// comments (docs/Doxyfile): build/docs/html/index.html.
# The test suite runs the same with every warning an error (tests/api_docs_test.sh).
docs: deps
	mkdir -p $(BUILD_DIR)/docs
	XGRAD_DOCS_OUT=$(BUILD_DIR)/docs doxygen docs/Doxyfile
	@echo "API reference: $(BUILD_DIR)/docs/html/index.html"

clean:
	rm -rf build build-asan build-tsan build-fuzz
