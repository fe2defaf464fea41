# Common settings for every spotfit target: C++20, strict warnings (errors unless SPOTFIT_WERROR=OFF).
function(spotfit_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wnull-dereference -Wimplicit-fallthrough)
  if(SPOTFIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # GCC 12's optimiser reports false positives inside libstdc++ at -O2/-O3 (GCC bugs 105329, 105651,
  # 104475). Optimised builds drop those diagnostics so Release and Debug accept the same code; Debug
  # builds keep every warning.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    foreach(flag -Wno-null-dereference -Wno-restrict -Wno-stringop-overflow -Wno-array-bounds -Wno-maybe-uninitialized)
      target_compile_options(${target} PRIVATE $<$<NOT:$<CONFIG:Debug>>:${flag}>)
    endforeach()
  endif()
endfunction()

# spotfit_module(NAME DEPS...): a static library from every .cpp in src/NAME (added files are picked up
# on the next build), public include root src/, linked to DEPS.
function(spotfit_module name)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT sources)
    # A module whose code has not landed yet is header-only until its first .cpp appears.
    add_library(spotfit_${name} INTERFACE)
    add_library(spotfit::${name} ALIAS spotfit_${name})
    target_include_directories(spotfit_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(spotfit_${name} INTERFACE ${ARGN})
    return()
  endif()
  add_library(spotfit_${name} STATIC ${sources})
  add_library(spotfit::${name} ALIAS spotfit_${name})
  target_include_directories(spotfit_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(spotfit_${name} PUBLIC ${ARGN})
  spotfit_warnings(spotfit_${name})
endfunction()
