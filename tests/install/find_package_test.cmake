# Run by ctest (tests/install/CMakeLists.txt) with cmake -P. Fails on the first
# step that fails, with that step's output.
# step(<what> <command>...): runs it; its output is in step_output.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# The consumer sees the installed headers only: no path into this source tree.
if(NOT EXISTS ${prefix}/include/rondo/store.hpp OR NOT EXISTS ${prefix}/include/rondo/rondo.h)
  message(FATAL_ERROR "the headers were not installed under ${prefix}/include")
endif()

set(flags "")
if(SANITIZE)  # the installed archives were built with the sanitizers
  set(flags "-fsanitize=address,undefined")
endif()
step("configuring the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_C_COMPILER=${C_COMPILER}
     -DCMAKE_CXX_FLAGS=${flags} -DCMAKE_C_FLAGS=${flags} -DCMAKE_EXE_LINKER_FLAGS=${flags}
     -DRONDO_EXAMPLES_DIR=${EXAMPLES_DIR})
step("building the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step("record_and_query" ${WORK_DIR}/build/record_and_query ${WORK_DIR}/cpp-store)
if(NOT step_output MATCHES "query_auto over the last 10 s: [0-9]+ points from tier 0")
  message(FATAL_ERROR "record_and_query did not read its points back")
endif()
step("vmm_exits" ${WORK_DIR}/build/vmm_exits ${WORK_DIR}/c-store)
if(NOT step_output MATCHES "io exits per second: 334 333 333")
  message(FATAL_ERROR "vmm_exits did not read its exits back")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
