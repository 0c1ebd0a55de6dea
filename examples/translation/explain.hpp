#pragma once
// The attention explorer (xgrad-translate explain): one sentence through a trained model, and
// every attention map it forms while reading its own translation, as one interactive page.
#include <string>

#include "search.hpp"
#include "trainer.hpp"

namespace xg::translation {

// Translates `source` (search as given), then reads the translation back teacher-forced under an
// nn::AttentionRecorder (the decoder's attention equals step-by-step decoding's; tested in
// test_translation.cpp) and returns the page's data as JSON:
//   transformer: per group (encoder self-attention, decoder self-attention, cross-attention),
//     per layer and head, the weights (in 1/10000) and the head's queries, keys and values (3
//     significant digits), the position bias of the group's self-attention and its mask;
//   bahdanau: the weights of every decoding step, with local-p's centre and window;
//   rnn: no attention (the page says so).
std::string explain_sentence(const LoadedModel& loaded, const std::string& source, const SearchOptions& search);

// The self-contained page for explain_sentence's data.
std::string explorer_page(const std::string& data_json);

}  // namespace xg::translation
