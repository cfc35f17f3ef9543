# Build-time guards for the layering (docs/architecture.md).

# Every library target reachable from `target` through its link libraries.
function(_ardus_link_closure target out)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue item)
    if(item IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${item})
    if(TARGET ${item})
      get_target_property(links ${item} LINK_LIBRARIES)
      get_target_property(interface ${item} INTERFACE_LINK_LIBRARIES)
      foreach(link IN LISTS links interface)
        if(link AND NOT link MATCHES "NOTFOUND$")
          list(APPEND queue ${link})
        endif()
      endforeach()
    endif()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Fails configuration when `target` links, even indirectly, any of `forbidden`.
function(_ardus_forbid_links target why)
  _ardus_link_closure(${target} closure)
  foreach(forbidden IN LISTS ARGN)
    if(forbidden IN_LIST closure)
      message(FATAL_ERROR "layering: ${why} ${target} links ${forbidden}")
    endif()
  endforeach()
endfunction()

# Fails configuration when a sans-IO CORE target links one of the IO targets.
function(ardus_check_core_links)
  cmake_parse_arguments(ARG "" "" "CORE;IO" ${ARGN})
  foreach(core IN LISTS ARG_CORE)
    _ardus_forbid_links(${core} "sans-IO target" ${ARG_IO})
  endforeach()
endfunction()

# Fails configuration when `program` links any FORBID target.
function(ardus_check_program_links program)
  cmake_parse_arguments(ARG "" "" "FORBID" ${ARGN})
  _ardus_forbid_links(${program} "program" ${ARG_FORBID})
endfunction()

# Runs scripts/check_layers.py over `src_dir` in every build; a file that
# includes across the layers fails the build.
function(ardus_check_layers src_dir)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${src_dir}/*.h ${src_dir}/*.cc)
  set(stamp ${CMAKE_BINARY_DIR}/check_layers.stamp)
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/check_layers.py ${src_dir}
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${sources} ${CMAKE_SOURCE_DIR}/scripts/check_layers.py
    COMMENT "Checking the layers' includes"
    VERBATIM)
  add_custom_target(check_layers ALL DEPENDS ${stamp})
endfunction()
