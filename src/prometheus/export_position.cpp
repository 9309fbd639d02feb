#include "export_position.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "file.hpp"
#include "rondo/error.hpp"

namespace rondo::prometheus {
namespace {

constexpr std::string_view kMagic = "rondo-export-position 1";

[[noreturn]] void throw_io(const std::string& what, const std::filesystem::path& file) {
  throw Error(ErrorCode::Io, what + " " + file.string() + ": " + std::strerror(errno));
}

[[noreturn]] void throw_corrupt(const std::filesystem::path& file, const std::string& why) {
  throw Error(ErrorCode::Corrupt, "export position file " + file.string() + " " + why +
                                      " (left untouched; remove it to export from the oldest bucket)");
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string_view after(std::string_view line, std::string_view keyword) {
  return line.substr(keyword.size() + 1);
}

bool has_keyword(std::string_view line, std::string_view keyword) {
  return line.size() > keyword.size() && line.starts_with(keyword) && line[keyword.size()] == ' ';
}

constexpr std::string_view kNameInfix = ".export-tier";
constexpr std::string_view kNameSuffix = ".cursor";

// "/x/store/" -> "/x/store": the name rule is about the directory's name.
std::filesystem::path without_trailing_slash(std::filesystem::path dir) {
  if (!dir.has_filename()) dir = dir.parent_path();
  return dir;
}

// Whether `name` is <prefix><digits>-<16 hex digits>.cursor.
bool follows_name_rule(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix) || !name.ends_with(kNameSuffix)) return false;
  name.remove_prefix(prefix.size());
  name.remove_suffix(kNameSuffix.size());
  const std::size_t dash = name.find('-');
  if (dash == 0 || dash == std::string_view::npos || name.size() - dash - 1 != 16) return false;
  std::size_t tier = 0;
  std::uint64_t hash = 0;
  auto [tier_end, tier_ec] = std::from_chars(name.data(), name.data() + dash, tier);
  auto [hash_end, hash_ec] = std::from_chars(name.data() + dash + 1, name.data() + name.size(), hash, 16);
  return tier_ec == std::errc() && tier_end == name.data() + dash && hash_ec == std::errc() &&
         hash_end == name.data() + name.size();
}

// The parsed lines of a file that passed its magic and checksum checks.
PositionFile parse_position_file(const std::filesystem::path& file);

}  // namespace

namespace detail {

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace detail

using detail::fnv1a64;
using detail::from_hex;
using detail::to_hex;

std::filesystem::path position_file_path(const std::filesystem::path& store_dir, std::string_view url,
                                         std::size_t tier) {
  const std::filesystem::path dir = without_trailing_slash(store_dir);
  const std::uint64_t h = detail::fnv1a64(url);
  std::string digits(16, '0');
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) digits[static_cast<std::size_t>(i)] = kHex[(h >> (60 - 4 * i)) & 0xF];
  return dir.parent_path() /
         (dir.filename().string() + std::string(kNameInfix) + std::to_string(tier) + "-" + digits +
          std::string(kNameSuffix));
}

std::vector<std::filesystem::path> find_position_files(const std::filesystem::path& store_dir) {
  const std::filesystem::path dir = without_trailing_slash(store_dir);
  const std::string prefix = dir.filename().string() + std::string(kNameInfix);
  std::vector<std::filesystem::path> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir.parent_path(), ec)) {
    if (entry.is_regular_file(ec) && follows_name_rule(entry.path().filename().string(), prefix)) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::optional<ExportPosition> load_position(const std::filesystem::path& file, std::size_t tier) {
  if (!std::filesystem::exists(file)) return std::nullopt;
  PositionFile contents = parse_position_file(file);
  if (contents.tier != tier) {
    throw Error(ErrorCode::Corrupt, "export position file " + file.string() + " is for tier " +
                                        std::to_string(contents.tier) + ", not tier " + std::to_string(tier));
  }
  return std::move(contents.position);
}

PositionFile read_position_file(const std::filesystem::path& file) { return parse_position_file(file); }

namespace {

PositionFile parse_position_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_io("open", file);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  const std::size_t checksum_at = text.rfind("checksum ");
  if (!text.starts_with(kMagic) || checksum_at == std::string::npos) {
    throw_corrupt(file, "is not an export position file");
  }
  std::uint64_t stored = 0;
  std::string_view checksum_text(text);
  checksum_text = checksum_text.substr(checksum_at + 9);
  if (checksum_text.ends_with('\n')) checksum_text.remove_suffix(1);
  auto [end, ec] = std::from_chars(checksum_text.data(), checksum_text.data() + checksum_text.size(),
                                   stored, 16);
  if (ec != std::errc() || end != checksum_text.data() + checksum_text.size() ||
      stored != fnv1a64(std::string_view(text).substr(0, checksum_at))) {
    throw_corrupt(file, "fails its checksum");
  }

  PositionFile contents;
  ExportPosition& position = contents.position;
  bool have_cursor = false;
  bool have_tier = false;
  for (std::string_view line : split_lines(std::string_view(text).substr(0, checksum_at))) {
    if (line == kMagic) continue;
    if (has_keyword(line, "url")) {
      contents.url = after(line, "url");
    } else if (has_keyword(line, "tier")) {
      if (!parse_number(after(line, "tier"), contents.tier)) throw_corrupt(file, "has a bad tier line");
      have_tier = true;
    } else if (has_keyword(line, "cursor")) {
      const auto bytes = from_hex(after(line, "cursor"));
      if (!bytes) throw_corrupt(file, "has a bad cursor line");
      try {
        position.cursor = ExportCursor::deserialize(*bytes);
      } catch (const Error& e) {
        throw_corrupt(file, std::string("holds a bad cursor: ") + e.what());
      }
      have_cursor = true;
    } else if (has_keyword(line, "partial")) {
      std::istringstream fields{std::string(after(line, "partial"))};
      std::size_t schema = 0;
      PartialBucket partial;
      std::string key_hex;
      if (!(fields >> schema >> partial.time >> key_hex)) throw_corrupt(file, "has a bad partial line");
      const auto key = from_hex(key_hex);
      if (!key) throw_corrupt(file, "has a bad partial key");
      partial.last_key = *key;
      position.partial[schema] = std::move(partial);
    } else if (!line.empty()) {
      throw_corrupt(file, "has an unknown line");
    }
  }
  if (!have_cursor) throw_corrupt(file, "has no cursor line");
  if (!have_tier) throw_corrupt(file, "has no tier line");
  return contents;
}

}  // namespace

void save_position(const std::filesystem::path& file, const ExportPosition& position,
                   std::size_t tier, std::string_view url) {
  std::string text(kMagic);
  text += "\ntier " + std::to_string(tier) + "\n";
  std::string safe_url(url);
  for (char& c : safe_url) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  text += "url " + safe_url + "\n";
  text += "cursor " + to_hex(position.cursor.serialize()) + "\n";
  for (const auto& [schema, partial] : position.partial) {
    text += "partial " + std::to_string(schema) + " " + std::to_string(partial.time) + " " +
            to_hex(partial.last_key) + "\n";
  }
  char checksum[17] = {};
  auto [end, ec] = std::to_chars(checksum, checksum + 16, fnv1a64(text), 16);
  (void)ec;
  text += "checksum " + std::string(checksum, end) + "\n";

  // The one durable create/replace of the library (src/file.cpp): fsync of
  // the new file before the rename, fsync of the directory after it.
  rondo::detail::write_file_atomically(file, text);
}

namespace detail {

PositionLock::PositionLock(const std::filesystem::path& position_file) {
  std::filesystem::path lock_file = position_file;
  lock_file += ".lock";
  fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io("open lock file", lock_file);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw Error(ErrorCode::Busy, "another exporter is using " + position_file.string());
    }
    errno = err;
    throw_io("flock", lock_file);
  }
}

PositionLock::~PositionLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace detail
}  // namespace rondo::prometheus
