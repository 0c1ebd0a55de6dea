#include "compare.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <xgrad/data/corpus.hpp>
#include <xgrad/data/tokenizer.hpp>
#include <xgrad/distributed/distributed.hpp>
#include "alignment.hpp"
#include "evaluate.hpp"
#include "plot.hpp"
#include "report.hpp"
#include "trainer.hpp"

namespace xg::translation {

namespace fs = std::filesystem;

namespace {
struct ModelResult {
  std::string model;
  TrainResult train;    // the first run's
  EvalResult eval;      // with several seeds: the mean over runs, each run's BLEU in bleu_runs
  AlignmentResult alignment;  // the first run's
  int64_t runs = 1;
};

// (seconds, smoothed train loss) rows of a log.csv.
Series loss_curve(const std::string& name, const std::string& log_path) {
  Series s{name, {}, {}, {}, {}};
  std::ifstream in(log_path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string step, seconds, loss;
    std::getline(ss, step, ',');
    std::getline(ss, seconds, ',');
    std::getline(ss, loss, ',');
    if (seconds.empty() || loss.empty()) continue;
    s.x.push_back(std::stod(seconds));
    s.y.push_back(std::stod(loss));
  }
  return s;
}

std::string bucket_name(const BucketScore& b) { return fmt::format("{}-{}", b.lo, b.hi); }
}  // namespace

namespace {
struct CompareData {
  TrainData corpus;
  std::vector<data::SentencePair> test;
  std::vector<std::vector<int64_t>> gold;  // test alignments, when known
  int64_t trained_max_len = 0;             // the longest training source, in tokens
};

// The built-in toy corpus (with its gold alignments), or the three TSV files.
CompareData load_data(const CompareOptions& o) {
  CompareData d;
  if (o.train_file.empty()) {
    if (!o.valid_file.empty() || !o.test_file.empty()) throw Error("compare: give --train, --valid and --test together");
    data::ToyConfig toy = o.toy;
    toy.seed = o.train.seed;
    const data::ToyCorpus c = data::generate_toy_corpus(toy);
    d.corpus.train = data::pairs_of(c.train), d.corpus.valid = data::pairs_of(c.valid), d.test = data::pairs_of(c.test);
    for (const auto& p : c.test) d.gold.push_back(p.alignment);
    for (const auto& p : c.train) d.corpus.train_alignments.push_back(p.alignment);
  } else {
    if (o.valid_file.empty() || o.test_file.empty()) throw Error("compare: give --train, --valid and --test together");
    d.corpus.train = data::read_parallel_tsv(o.train_file).pairs;
    d.corpus.valid = data::read_parallel_tsv(o.valid_file).pairs;
    d.test = data::read_parallel_tsv(o.test_file).pairs;
    if (!o.test_alignment_file.empty()) d.gold = read_alignments(o.test_alignment_file);
    if (!o.train_alignment_file.empty()) d.corpus.train_alignments = read_alignments(o.train_alignment_file);
    d.corpus = keep_training_length(d.corpus, o.toy.train_max_len);
  }
  d.trained_max_len = longest_source(d.corpus.train);
  if (distributed::is_primary())
    fmt::print("corpus: {} train, {} valid pairs (sources up to {} tokens), {} test pairs (up to {} tokens)\n",
               d.corpus.train.size(), d.corpus.valid.size(), d.trained_max_len, d.test.size(), longest_source(d.test));
  return d;
}

// Where run `run` of `name` trains: out_dir/name, and out_dir/name.seedN for the further seeds.
std::string run_dir(const CompareOptions& o, const std::string& name, int64_t run) {
  return run == 0 ? o.out_dir + "/" + name : fmt::format("{}/{}.seed{}", o.out_dir, name, o.train.seed + static_cast<uint64_t>(run));
}

// The mean over runs of every score, each run's BLEU kept (overall and per bucket).
EvalResult mean_of_runs(const std::vector<EvalResult>& runs) {
  EvalResult m = runs[0];
  if (runs.size() == 1) return m;
  const auto n = static_cast<double>(runs.size());
  auto mean = [&](auto field) {
    double total = 0;
    for (const auto& r : runs) total += field(r);
    return total / n;
  };
  m.bleu = mean([](const EvalResult& r) { return r.bleu; });
  m.chrf = mean([](const EvalResult& r) { return r.chrf; });
  m.exact = mean([](const EvalResult& r) { return r.exact; });
  for (const auto& r : runs) m.bleu_runs.push_back(r.bleu);
  for (std::size_t k = 0; k < m.buckets.size(); ++k) {
    m.buckets[k].bleu = mean([k](const EvalResult& r) { return r.buckets[k].bleu; });
    m.buckets[k].chrf = mean([k](const EvalResult& r) { return r.buckets[k].chrf; });
    m.buckets[k].exact = mean([k](const EvalResult& r) { return r.buckets[k].exact; });
    for (const auto& r : runs) m.buckets[k].bleu_runs.push_back(r.buckets[k].bleu);
  }
  return m;
}

// Trains `name` afresh (once per seed); on the primary rank also scores each run on the test set.
ModelResult train_and_evaluate(const std::string& name, const CompareOptions& o, const CompareData& d) {
  const bool primary = distributed::is_primary();  // under mpirun every rank trains; rank 0 evaluates and writes
  ModelResult r;
  r.model = name;
  r.runs = o.seeds;
  std::vector<EvalResult> evals;
  for (int64_t run = 0; run < o.seeds; ++run) {
    const uint64_t seed = o.train.seed + static_cast<uint64_t>(run);
    if (primary && o.train.steps > 0) fmt::print("\n== {} (seed {}): training for {} steps ==\n", name, seed, o.train.steps);
    else if (primary) fmt::print("\n== {} (seed {}): training for {:.0f} s ==\n", name, seed, o.budget);
    TrainOptions t;
    t.model = ModelConfig::defaults(name);  // a variant name such as transformer-window sets its attention
    t.model.tokenizer = o.tokenizer;
    t.model.shared_subwords = o.shared_subwords;
    if (t.model.is_transformer()) t.model.tie_embeddings = o.tie_embeddings;
    t.train = o.train;
    t.train.seed = seed;  // model initialisation, batch order, dropout; the corpus stays the first seed's
    t.train.time_budget = o.train.steps > 0 ? 0 : o.budget;  // --steps, when given, replaces the budget
    t.out_dir = run_dir(o, name, run);
    t.overwrite = true;  // a comparison trains every model afresh
    const TrainResult trained = train_model(t, d.corpus);
    if (run == 0) r.train = trained;
    if (!primary) continue;
    LoadedModel m = load_trained(t.out_dir);
    SearchOptions search;
    search.beam = o.beam;
    search.length_penalty = o.length_penalty;
    evals.push_back(evaluate(*m.model, m.codec, d.test, search));
    fmt::print("{} (seed {}): test BLEU {:.2f} [{:.2f}, {:.2f}], chrF {:.2f}, exact match {:.1f}%\n", name, seed,
               evals.back().bleu, evals.back().bleu_lo, evals.back().bleu_hi, evals.back().chrf, evals.back().exact);
  }
  if (!primary) return r;
  r.eval = mean_of_runs(evals);
  if (!d.gold.empty() && o.tokenizer != "word") {
    fmt::print("{}: no alignment error rate (gold alignments are between words; the model reads subwords)\n", name);
  } else if (!d.gold.empty()) {
    LoadedModel m = load_trained(run_dir(o, name, 0));
    r.alignment = evaluate_alignment(*m.model, m.codec, d.test, d.gold);
    if (r.alignment.available())
      fmt::print("{}: alignment error rate {:.2f}% ({}), head average {:.2f}% ({})\n", name, r.alignment.best_head.aer,
                 r.alignment.best_head.map, r.alignment.head_mean.aer, r.alignment.head_mean.map);
  }
  return r;
}

// The buckets that hold test sentences.
std::vector<std::size_t> shown_buckets(const std::vector<ModelResult>& results) {
  std::vector<std::size_t> shown;
  for (std::size_t k = 0; k < results[0].eval.buckets.size(); ++k)
    for (const auto& r : results)
      if (r.eval.buckets[k].n > 0) {
        shown.push_back(k);
        break;
      }
  return shown;
}

nlohmann::json model_json(const ModelResult& r) {
  nlohmann::json m = nlohmann::json::parse(r.eval.to_json());
  m["model"] = r.model;
  m["params"] = r.train.parameters;
  m["train_seconds"] = r.train.seconds;
  m["steps"] = r.train.steps;
  if (!r.alignment.available()) return m;
  nlohmann::json a = nlohmann::json::object();
  for (const auto& x : r.alignment.maps) {
    nlohmann::json words = nlohmann::json::array();
    for (const auto& w : x.worst_words) words.push_back({{"word", w.word}, {"misaligned", w.misaligned}, {"total", w.total}});
    a[x.map] = {{"aer", x.aer}, {"by_bucket", x.by_bucket}, {"most_misaligned_words", words}};
  }
  m["alignment"] = {{"best_map", r.alignment.best_head.map}, {"aer", r.alignment.best_head.aer},
                    {"head_mean_map", r.alignment.head_mean.map}, {"aer_head_mean", r.alignment.head_mean.aer}, {"maps", a}};
  return m;
}

// The table on standard output, compare.csv and compare.json; buckets past the longest training
// source are starred on standard output and flagged in the CSV (trained_max_len) and JSON.
void write_tables(const CompareOptions& o, const std::vector<ModelResult>& results, const std::vector<std::size_t>& shown,
                  int64_t trained_max_len) {
  std::size_t name_width = 12;  // variant names such as transformer-rotary are longer
  for (const auto& r : results) name_width = std::max(name_width, r.model.size());
  std::string header = fmt::format("{:<{}} {:>10} {:>8} {:>7}", "model", name_width, "params", "train s", "steps");
  std::string csv = "model,params,train_seconds,steps,trained_max_len";
  for (auto k : shown) {
    const std::string b = bucket_name(results[0].eval.buckets[k]);
    header += fmt::format(" {:>7}", results[0].eval.buckets[k].hi > trained_max_len ? b + "*" : b);
    csv += fmt::format(",bleu_{0},bleu_{0}_lo,bleu_{0}_hi,chrf_{0},exact_{0}", b);
  }
  header += fmt::format(" {:>7} {:>7} {:>7} {:>8}", "BLEU", "exact%", "AER%", "AERavg%");
  csv += ",bleu,bleu_lo,bleu_hi,chrf,exact,aer,aer_head_mean\n";
  fmt::print("\nBLEU by source length (test set, {} decoding)\n{}\n", o.beam == 1 ? "greedy" : fmt::format("beam {}", o.beam), header);
  fmt::print("(* : sources longer than any in training, {} tokens at most)\n", trained_max_len);
  // Ordered, so that "trained_max_len" comes first in compare.json.
  nlohmann::ordered_json js = {{"trained_max_len", trained_max_len}, {"models", nlohmann::ordered_json::array()}};
  for (const auto& r : results) {
    std::string row = fmt::format("{:<{}} {:>10} {:>8.0f} {:>7}", r.model, name_width, r.train.parameters, r.train.seconds, r.train.steps);
    csv += fmt::format("{},{},{:.1f},{},{}", r.model, r.train.parameters, r.train.seconds, r.train.steps, trained_max_len);
    for (auto k : shown) {
      const BucketScore& b = r.eval.buckets[k];
      row += fmt::format(" {:>7.2f}", b.bleu);
      csv += fmt::format(",{:.3f},{:.3f},{:.3f},{:.3f},{:.2f}", b.bleu, b.bleu_lo, b.bleu_hi, b.chrf, b.exact);
    }
    const bool aligned = r.alignment.available();
    row += fmt::format(" {:>7.2f} {:>7.1f}", r.eval.bleu, r.eval.exact);
    row += aligned ? fmt::format(" {:>7.2f} {:>8.2f}", r.alignment.best_head.aer, r.alignment.head_mean.aer) : fmt::format(" {:>7} {:>8}", "-", "-");
    csv += fmt::format(",{:.3f},{:.3f},{:.3f},{:.3f},{:.2f}", r.eval.bleu, r.eval.bleu_lo, r.eval.bleu_hi, r.eval.chrf, r.eval.exact);
    csv += aligned ? fmt::format(",{:.3f},{:.3f}\n", r.alignment.best_head.aer, r.alignment.head_mean.aer) : ",,\n";
    fmt::print("{}\n", row);
    js["models"].push_back(nlohmann::ordered_json::parse(model_json(r).dump()));
  }
  fmt::print("AER%: alignment error rate of the attention's argmax against the gold alignment (teacher-forced; the best\n"
             "single head, and the best layer's head average: AERavg%). Lower is closer to a word alignment.\n");
  fmt::print("exact match by bucket (%):\n");
  for (const auto& r : results) {
    std::string row = fmt::format("{:<{}}", r.model, name_width);
    for (auto k : shown) row += fmt::format(" {}={:.1f}", bucket_name(r.eval.buckets[k]), r.eval.buckets[k].exact);
    fmt::print("{}\n", row);
  }
  if (results[0].runs > 1) {
    fmt::print("BLEU by bucket over {} seeds: mean (min-max)\n", results[0].runs);
    for (const auto& r : results) {
      std::string row = fmt::format("{:<{}}", r.model, name_width);
      for (auto k : shown) {
        const auto& runs = r.eval.buckets[k].bleu_runs;
        row += fmt::format(" {}={:.2f} ({:.2f}-{:.2f})", bucket_name(r.eval.buckets[k]), r.eval.buckets[k].bleu,
                           *std::min_element(runs.begin(), runs.end()), *std::max_element(runs.begin(), runs.end()));
      }
      fmt::print("{}\n", row);
    }
  }
  fmt::print("95% bootstrap intervals of BLEU by bucket (1000 resamples of the bucket's sentences{}), and chrF:\n",
             results[0].runs > 1 ? "; first seed" : "");
  for (const auto& r : results) {
    std::string row = fmt::format("{:<{}}", r.model, name_width), chrf = fmt::format("{:<{}}", "", name_width);
    for (auto k : shown) {
      const BucketScore& b = r.eval.buckets[k];
      row += fmt::format(" {}=[{:.2f}, {:.2f}]", bucket_name(b), b.bleu_lo, b.bleu_hi);
      chrf += fmt::format(" {}={:.2f}", bucket_name(b), b.chrf);
    }
    fmt::print("{}\n{} chrF\n", row, chrf);
  }
  write_text_file(o.out_dir + "/compare.csv", csv);
  write_text_file(o.out_dir + "/compare.json", js.dump(2) + "\n");
}

// The stretch of a bucket axis (the shown buckets at 0, 1, ...) whose lengths training saw: up to
// the middle between the last bucket inside it and the next, or into a bucket it ends within.
Shade trained_range(const std::vector<ModelResult>& results, const std::vector<std::size_t>& shown, int64_t trained_max_len) {
  double edge = -0.5;
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const BucketScore& b = results[0].eval.buckets[shown[i]];
    if (b.hi <= trained_max_len) edge = static_cast<double>(i) + 0.5;
    else if (b.lo <= trained_max_len) edge = static_cast<double>(i) - 0.5 + static_cast<double>(trained_max_len - b.lo + 1) / 10.0;
  }
  return {-0.5, edge, fmt::format("seen in training (<= {} tokens)", trained_max_len)};
}

// bleu_by_length.svg, loss.svg, and aer_by_length.svg when alignments were scored; the bucket
// charts shade the lengths seen in training.
void write_charts(const CompareOptions& o, const std::vector<ModelResult>& results, const std::vector<std::size_t>& shown,
                  int64_t trained_max_len) {
  const Shade trained = trained_range(results, shown, trained_max_len);
  std::vector<Series> bleu_series, loss_series, aer_series;
  std::vector<std::string> labels;
  for (auto k : shown) labels.push_back(bucket_name(results[0].eval.buckets[k]));
  for (const auto& r : results) {
    Series bleu{r.model, {}, {}, {}, {}}, aer{r.model, {}, {}, {}, {}};
    for (std::size_t i = 0; i < shown.size(); ++i) {
      const BucketScore& b = r.eval.buckets[shown[i]];
      bleu.x.push_back(static_cast<double>(i));
      bleu.y.push_back(b.bleu);
      // The band: the spread over seeds when there are several runs, else the bootstrap interval.
      const bool seeds = !b.bleu_runs.empty();
      bleu.band_lo.push_back(seeds ? *std::min_element(b.bleu_runs.begin(), b.bleu_runs.end()) : b.bleu_lo);
      bleu.band_hi.push_back(seeds ? *std::max_element(b.bleu_runs.begin(), b.bleu_runs.end()) : b.bleu_hi);
      const double v = r.alignment.available() ? r.alignment.best_head.by_bucket[shown[i]] : -1;
      if (v >= 0) aer.x.push_back(static_cast<double>(i)), aer.y.push_back(v);
    }
    bleu_series.push_back(bleu);
    if (r.alignment.available()) aer_series.push_back(aer);
    loss_series.push_back(loss_curve(r.model, o.out_dir + "/" + r.model + "/log.csv"));
  }
  if (!aer_series.empty())
    write_text_file(o.out_dir + "/aer_by_length.svg",
                    line_chart_svg("Alignment error rate of the attention (best head)", "source length (tokens)", "AER (%)",
                                   aer_series, labels, 0, 100, false, trained));
  write_text_file(o.out_dir + "/bleu_by_length.svg",
                  line_chart_svg(results[0].runs > 1 ? fmt::format("BLEU by source length (mean of {} seeds; band: min-max)", results[0].runs)
                                                     : "BLEU by source length (band: 95% bootstrap interval)",
                                 "source length (tokens)", "BLEU", bleu_series, labels, 0, 100, false, trained));
  write_text_file(o.out_dir + "/loss.svg",
                  line_chart_svg("Training loss (smoothed)", "seconds", "cross-entropy per token", loss_series, {}, 0, -1));
}

// Attention heat maps of the longest test sentence of at most 50 tokens (models with attention).
void write_attention_maps(const CompareOptions& o, const std::vector<ModelResult>& results,
                          const std::vector<data::SentencePair>& test) {
  const data::WhitespaceTokenizer tok;
  std::size_t longest = 0, best_len = 0;
  for (std::size_t i = 0; i < test.size(); ++i) {
    const auto n = tok.tokenize(test[i].source).size();
    if (n <= 50 && n > best_len) best_len = n, longest = i;
  }
  for (const auto& r : results) {
    if (r.model == "rnn" || test.empty()) continue;
    LoadedModel m = load_trained(o.out_dir + "/" + r.model);
    SearchOptions search;
    search.keep_attention = true;
    const auto hyps = translate_sentences(*m.model, m.codec, {test[longest].source}, search);
    auto target = m.codec.tgt_vocab.decode(hyps[0].tokens);
    target.push_back("<eos>");
    const bool transformer = r.model.rfind("transformer", 0) == 0;
    const std::string title = r.model + (transformer ? ": last decoder layer, cross-attention head 0"
                                         : r.model.rfind("decoder-only", 0) == 0 ? ": last layer, head 0, target over source"
                                         : r.model == "bahdanau-local" ? ": Luong local-p attention" : ": additive attention");
    write_text_file(o.out_dir + "/attention_" + r.model + ".svg",
                    heatmap_svg(title, m.codec.source_tokens(test[longest].source), target, hyps[0].attention));
  }
}
}  // namespace

namespace {
// report.html beside the other outputs (report.hpp).
std::string write_report(const CompareOptions& o, const CompareData& d, const std::vector<ModelResult>& results,
                         const std::vector<std::size_t>& shown) {
  ReportInput in;
  in.out_dir = o.out_dir;
  in.trained_max_len = d.trained_max_len;
  in.test = d.test;
  in.buckets = shown;
  const std::string corpus = o.train_file.empty() ? fmt::format("the built-in toy corpus (seed {}, order {})", o.train.seed, o.toy.order)
                                                  : fmt::format("{}, {}, {}", o.train_file, o.valid_file, o.test_file);
  std::string names;
  for (const auto& r : results) names += (names.empty() ? "" : ", ") + r.model;
  in.settings = {
      {"corpus", corpus},
      {"pairs", fmt::format("{} train, {} valid, {} test", d.corpus.train.size(), d.corpus.valid.size(), d.test.size())},
      {"training sources", fmt::format("up to {} tokens", d.trained_max_len)},
      {"test sources", fmt::format("up to {} tokens, scored in buckets of 10", longest_source(d.test))},
      {"models", names},
      {"training per model", o.train.steps > 0 ? fmt::format("{} steps", o.train.steps) : fmt::format("{:.0f} s", o.budget)},
      {"seeds", o.seeds > 1 ? fmt::format("{} runs from seed {} (scores: their mean)", o.seeds, o.train.seed) : fmt::format("{}", o.train.seed)},
      {"decoding", o.beam == 1 ? std::string("greedy") : fmt::format("beam {}, length penalty {}", o.beam, o.length_penalty)},
      {"threads", o.train.threads > 0 ? fmt::format("{}", o.train.threads) : std::string("OpenMP's default")}};
  if (o.train.guided_alignment > 0) in.settings.emplace_back("guided alignment", fmt::format("weight {}", o.train.guided_alignment));
  for (const auto& r : results) in.models.push_back({r.model, r.train.parameters, r.train.steps, r.runs, r.train.seconds, &r.eval, &r.alignment});
  const std::string path = o.out_dir + "/report.html";
  write_text_file(path, report_page(in));
  return path;
}
}  // namespace

void run_compare(const CompareOptions& o) {
  fs::create_directories(o.out_dir);
  const CompareData d = load_data(o);
  std::vector<ModelResult> results;
  for (const auto& name : o.models) results.push_back(train_and_evaluate(name, o, d));
  if (!distributed::is_primary()) return;
  const auto shown = shown_buckets(results);
  write_tables(o, results, shown, d.trained_max_len);
  write_charts(o, results, shown, d.trained_max_len);
  write_attention_maps(o, results, d.test);
  const std::string report = write_report(o, d, results, shown);
  fmt::print("\nwrote {0}/compare.csv, compare.json, bleu_by_length.svg, aer_by_length.svg, loss.svg and attention_*.svg\n"
             "the report, every result on one page: {1}\n", o.out_dir, report);
}

}  // namespace xg::translation
