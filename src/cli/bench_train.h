// `frugal bench --train`: the trainer's throughput against the FMA peak, rollouts, memory.
#pragma once

namespace frugal::cli {
int bench_train(int argc, char** argv);
}
