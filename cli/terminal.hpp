// What the CLI needs to know about where its output goes.
#pragma once

namespace rondo::cli {

// True when fd is a terminal (then, and only then, progress lines are shown).
bool is_terminal(int fd) noexcept;
// The terminal's width in columns; `fallback` when fd is not a terminal
// (COLUMNS from the environment is used first when set).
int terminal_width(int fd, int fallback) noexcept;

}  // namespace rondo::cli
