# `cmake --install`: the store (librondo.a, rondo::rondo), the C API
# (librondo_c.a, rondo::c), their headers, the `rondo` command, and
# rondoConfig.cmake so that a user's VMM does
#   find_package(rondo REQUIRED)
#   target_link_libraries(my_vmm PRIVATE rondo::rondo)
# The network parts (exporter, /metrics, PromQL) are not installed: they pull
# libcurl, protobuf and cpp-httplib into a consumer that may want none of them.
include(CMakePackageConfigHelpers)

install(TARGETS rondo rondo_c EXPORT rondoTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS rondo_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The store's headers and the C API's; not the network layers' (see above).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/rondo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN prometheus EXCLUDE
        PATTERN promql.hpp EXCLUDE)

set(rondo_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/rondo)
install(EXPORT rondoTargets NAMESPACE rondo:: DESTINATION ${rondo_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/rondoConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/rondoConfig.cmake
                              INSTALL_DESTINATION ${rondo_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rondoConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rondoConfig.cmake ${PROJECT_BINARY_DIR}/rondoConfigVersion.cmake
        DESTINATION ${rondo_cmake_dir})
