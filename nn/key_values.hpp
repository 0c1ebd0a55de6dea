#pragma once
/// \file
/// The projected keys and values of multi-head attention, kept for reuse.
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg::nn {

/// Projected keys and values split into heads, (B, H_kv, T, D/H) each: computed once and reused,
/// for the encoder memory in cross-attention and the growing prefix of an incremental decoder.
///
/// Appending outside autograd writes the new positions into buffers with room to grow (doubling
/// their capacity when full), so a decoding step copies one position, not the whole prefix (the
/// concatenation was 7.7% of a transformer decode); attention reads the buffers in place. k() and v() then return a copy of the first T positions, made once
/// per length. Appends that carry gradients concatenate, so that the graph stays intact.
class KeyValues {
 public:
  KeyValues() = default;
  KeyValues(Tensor k, Tensor v);  ///< a cache holding k and v (B, H_kv, T, dh)
  bool empty() const { return length() == 0; }  ///< no positions yet
  int64_t length() const { return buffered() ? length_ : k_.defined() ? k_.shape()[2] : 0; }  ///< T, the positions held
  int64_t batch() const { return buffered() ? k_buffer_.shape()[0] : k_.defined() ? k_.shape()[0] : 0; }  ///< B
  const Tensor& k() const;  ///< (B, H_kv, T, dh)
  const Tensor& v() const;  ///< (B, H_kv, T, dh)
  /// Appends the positions of `more` along the time axis (an empty cache takes them as they are).
  void append(const KeyValues& more);
  /// Keeps batch rows `rows` (reordered or repeated: beam search).
  void select_rows(const std::vector<int64_t>& rows);
  /// Buffered caches: (B, H_kv, capacity, dh) storage whose first length() positions are in use.
  bool buffered() const { return k_buffer_.defined(); }
  /// The storage of a buffered cache (capacity >= length()).
  ///@{
  const Tensor& key_buffer() const { return k_buffer_; }
  const Tensor& value_buffer() const { return v_buffer_; }
  ///@}

 private:
  mutable Tensor k_, v_;  ///< exact (B, H_kv, T, dh); for a buffered cache, made when asked for
  Tensor k_buffer_, v_buffer_;
  int64_t length_ = 0;    ///< buffered caches: positions in use
};

}  // namespace xg::nn
