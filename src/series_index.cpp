#include "series_index.hpp"

#include <cstring>

#include "crc32c.hpp"
#include "rondo/error.hpp"

namespace rondo::detail {

namespace {

constexpr char kIndexMagic[8] = {'R', 'O', 'N', 'D', 'O', 'I', 'D', 'X'};
// Version 2 keeps the number of records in the header, rewritten after each
// append, so a file that lost whole records (truncated, or its last record
// damaged) is told apart from one whose last append a crash cut short.
// Version 1 files (no count) still open; a writable open upgrades them.
constexpr std::uint32_t kIndexVersion = 2;
constexpr std::uint32_t kIndexVersionWithoutCount = 1;
constexpr std::uint32_t kMaxRecord = 1 << 20;

struct IndexHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_crc;
  std::uint64_t store_id;
  std::uint32_t series_count;  // records appended and complete (version 2)
  std::uint32_t reserved;
};
static_assert(sizeof(IndexHeader) == 32);

std::uint32_t header_crc(IndexHeader h) {
  h.header_crc = 0;
  return crc32c(std::as_bytes(std::span(&h, 1)));
}

class Writer {
 public:
  void u16(std::uint16_t v) { raw(&v, 2); }
  void u32(std::uint32_t v) { raw(&v, 4); }
  void str(std::string_view s) {
    if (s.size() > 0xFFFF) throw Error(ErrorCode::InvalidArgument, "name or label longer than 65535 bytes");
    u16(static_cast<std::uint16_t>(s.size()));
    raw(s.data(), s.size());
  }
  std::string bytes;

 private:
  void raw(const void* p, std::size_t n) { bytes.append(static_cast<const char*>(p), n); }
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  std::uint16_t u16() { return raw<std::uint16_t>(); }
  std::uint32_t u32() { return raw<std::uint32_t>(); }
  std::string str() {
    const std::uint16_t n = u16();
    need(n);
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  template <typename T>
  T raw() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void need(std::size_t n) const {
    if (bytes_.size() - pos_ < n) throw Error(ErrorCode::Corrupt, "record too short");
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::Corrupt, "series index " + path.string() + ": " + what);
}

}  // namespace

std::string series_key(std::string_view name, std::span<const Label> sorted_labels) {
  std::string key(name);
  key += '{';
  for (const Label& l : sorted_labels) {
    key += l.name;
    key += '\0';
    key += l.value;
    key += '\0';
  }
  return key;
}

static IndexHeader make_header(std::uint64_t store_id, std::uint32_t series_count) {
  IndexHeader h{};
  std::memcpy(h.magic, kIndexMagic, sizeof(h.magic));
  h.version = kIndexVersion;
  h.store_id = store_id;
  h.series_count = series_count;
  h.header_crc = header_crc(h);
  return h;
}

void SeriesIndex::create(const std::filesystem::path& path, std::uint64_t store_id) {
  const IndexHeader h = make_header(store_id, 0);
  replace_file_durably(path, [&](File& f) { f.write_at(0, std::as_bytes(std::span(&h, 1))); });
}

bool SeriesIndex::holds_no_series(const std::filesystem::path& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  return !ec && size <= sizeof(IndexHeader);
}

SeriesIndex SeriesIndex::open(const std::filesystem::path& path, std::uint64_t store_id,
                              std::vector<std::uint32_t> max_series, bool writable) {
  SeriesIndex index;
  index.file_ = File(path, writable ? File::Mode::ReadWrite : File::Mode::ReadOnly);
  index.max_series_ = std::move(max_series);
  index.per_schema_.assign(index.max_series_.size(), 0);
  if (index.file_.size() < sizeof(IndexHeader)) corrupt(path, "truncated header");
  IndexHeader h{};
  index.file_.read_at(0, std::as_writable_bytes(std::span(&h, 1)));
  if (std::memcmp(h.magic, kIndexMagic, sizeof(h.magic)) != 0) corrupt(path, "not a rondo series index (bad magic)");
  if (h.version != kIndexVersion && h.version != kIndexVersionWithoutCount) {
    corrupt(path, "unsupported version " + std::to_string(h.version));
  }
  if (h.header_crc != header_crc(h)) corrupt(path, "header checksum mismatch");
  if (h.store_id != store_id) corrupt(path, "belongs to another store");
  index.store_id_ = store_id;
  index.end_ = sizeof(IndexHeader);
  const bool counted = h.version == kIndexVersion;
  const std::uint64_t torn = index.load_from(index.end_);
  const std::size_t found = index.entries_.size();
  // Records are written before the count that includes them: the header may
  // lag by the one record a crash interrupted, never lead.
  if (counted && found < h.series_count) {
    corrupt(path, "holds " + std::to_string(found) + " complete series records, its header says " +
                      std::to_string(h.series_count) + " (truncated, or a record is damaged)");
  }
  if (counted && found > std::size_t{h.series_count} + 1) {
    corrupt(path, "holds " + std::to_string(found) + " series records, its header says " +
                      std::to_string(h.series_count));
  }
  // A torn append is the record after the counted ones: found == count.
  if (torn > 0 && counted && found != h.series_count) {
    corrupt(path, "has " + std::to_string(torn) + " unreadable bytes after its last complete record, which the "
                      "header already counts (not a torn append)");
  }
  if (writable) {
    // Only what a crash during one register_series() leaves is cut: the
    // bytes of the record it was writing, which no count included.
    if (torn > 0) index.file_.truncate(index.end_);
    if (!counted || found != h.series_count) index.write_header();
  }
  return index;
}

// What an append cut short can leave after the last complete record: a
// prefix of a record (fewer bytes than its length field says), a record
// whose bytes did not all reach the disk (it ends the file and fails its
// checksum), or zeros (a power cut after the file grew). Anything else is
// not a torn append.
static bool looks_torn(std::string_view tail) {
  if (tail.size() < 8) return true;
  if (tail.find_first_not_of('\0') == std::string_view::npos) return true;
  std::uint32_t length, crc;
  std::memcpy(&length, tail.data(), 4);
  std::memcpy(&crc, tail.data() + 4, 4);
  if (length > kMaxRecord) return false;
  if (tail.size() - 8 < length) return true;
  return tail.size() - 8 == length && crc32c(std::as_bytes(std::span(tail.data() + 8, length))) != crc;
}

std::uint64_t SeriesIndex::load_from(std::uint64_t offset) {
  const std::uint64_t size = file_.size();
  std::string bytes(size - offset, '\0');
  file_.read_at(offset, std::as_writable_bytes(std::span(bytes.data(), bytes.size())));
  const std::string_view all(bytes);
  std::size_t pos = 0;
  while (pos < all.size()) {
    const std::string_view rest = all.substr(pos);
    const std::string where = "record at byte " + std::to_string(offset + pos);
    if (looks_torn(rest)) break;  // the caller decides whether a torn tail may be there
    std::uint32_t length, crc;
    std::memcpy(&length, rest.data(), 4);
    std::memcpy(&crc, rest.data() + 4, 4);
    if (length > kMaxRecord) corrupt(file_.path(), where + " is too long");
    const std::string_view payload = rest.substr(8, length);
    if (crc32c(std::as_bytes(std::span(payload.data(), payload.size()))) != crc) {
      corrupt(file_.path(), where + " fails its checksum");
    }
    IndexedSeries s;
    try {
      Reader r(payload);
      s.schema = r.u32();
      s.column = r.u32();
      s.name = r.str();
      const std::uint16_t n = r.u16();
      for (std::uint16_t i = 0; i < n; ++i) {
        Label l;
        l.name = r.str();
        l.value = r.str();
        s.labels.push_back(std::move(l));
      }
      if (!r.done()) throw Error(ErrorCode::Corrupt, "trailing bytes");
    } catch (const Error& e) {
      corrupt(file_.path(), where + ": " + e.what());
    }
    if (s.schema >= max_series_.size()) corrupt(file_.path(), "series '" + s.name + "' names an unknown schema");
    if (s.column != per_schema_[s.schema] || s.column >= max_series_[s.schema]) {
      corrupt(file_.path(), "series '" + s.name + "' has an unexpected column " + std::to_string(s.column));
    }
    if (by_key_.count(series_key(s.name, s.labels))) corrupt(file_.path(), "series '" + s.name + "' appears twice");
    add(std::move(s));
    pos += 8 + length;
  }
  end_ = offset + pos;
  return size - end_;
}

void SeriesIndex::write_header() {
  const IndexHeader h = make_header(store_id_, static_cast<std::uint32_t>(entries_.size()));
  file_.write_at(0, std::as_bytes(std::span(&h, 1)));
}

void SeriesIndex::add(IndexedSeries series) {
  by_key_.emplace(series_key(series.name, series.labels), entries_.size());
  ++per_schema_[series.schema];
  entries_.push_back(std::move(series));
}

std::optional<std::size_t> SeriesIndex::find(const std::string& key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

void SeriesIndex::append(IndexedSeries series) {
  Writer payload;
  payload.u32(series.schema);
  payload.u32(series.column);
  payload.str(series.name);
  if (series.labels.size() > 0xFFFF) throw Error(ErrorCode::InvalidArgument, "too many labels");
  payload.u16(static_cast<std::uint16_t>(series.labels.size()));
  for (const Label& l : series.labels) {
    payload.str(l.name);
    payload.str(l.value);
  }
  Writer record;
  record.u32(static_cast<std::uint32_t>(payload.bytes.size()));
  record.u32(crc32c(std::as_bytes(std::span(payload.bytes.data(), payload.bytes.size()))));
  record.bytes += payload.bytes;
  file_.write_at(end_, std::as_bytes(std::span(record.bytes.data(), record.bytes.size())));
  end_ += record.bytes.size();
  add(std::move(series));
  write_header();  // after the record: the count never names a record not yet written
}

bool SeriesIndex::refresh() {
  if (file_.size() <= end_) return false;
  const std::size_t before = entries_.size();
  (void)load_from(end_);  // a torn tail here is an append in progress
  return entries_.size() != before;
}

}  // namespace rondo::detail
