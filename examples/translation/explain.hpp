#pragma once
// The attention explorer (xgrad-translate explain): one sentence through a trained model, and
// every attention map it forms while reading its own translation, as one interactive page.
#include <string>

#include "search.hpp"
#include "trainer.hpp"

namespace xg::translation {

// Translates `source` (search as given; or takes `target`, when not empty, as the translation),
// then reads the translation back teacher-forced under an nn::AttentionRecorder (the same
// attention as step-by-step decoding forms) and returns the page's data as JSON: the tokens, the
// translation's log-probability, and
//   transformer: per group (encoder self-attention, decoder self-attention, cross-attention),
//     per layer and head, the weights (in 1/10000) and the head's queries, keys and values (three
//     digits relative to each matrix's largest value), the group's position bias and causal mask;
//   bahdanau: the weights of every decoding step, with local-p's centre and window;
//   rnn: no attention (the page says so).
std::string explain_sentence(const LoadedModel& loaded, const std::string& source, const SearchOptions& search,
                             const std::string& target = "");

// The self-contained page for explain_sentence's data.
std::string explorer_page(const std::string& data_json);

}  // namespace xg::translation
