#include <xgrad/nn/attention_recorder.hpp>

namespace xg::nn {

namespace {
thread_local AttentionRecorder* active_recorder = nullptr;
}

AttentionRecorder::AttentionRecorder() : previous_(active_recorder) { active_recorder = this; }

AttentionRecorder::~AttentionRecorder() { active_recorder = previous_; }

AttentionRecorder* AttentionRecorder::active() { return active_recorder; }

}  // namespace xg::nn
