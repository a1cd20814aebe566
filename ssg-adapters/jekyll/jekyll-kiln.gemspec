# frozen_string_literal: true

# The gem form of kiln's Jekyll plugin: the same single file a site can copy
# into _plugins/ instead.

Gem::Specification.new do |spec|
  spec.name = "jekyll-kiln"
  spec.version = File.read(File.join(__dir__, "lib/jekyll-kiln.rb"))[/VERSION = "([^"]+)"/, 1]
  spec.summary = "kiln comments for Jekyll: placeholder tags and a post-build bake"
  spec.description = <<~TEXT
    Liquid tags that place kiln's comment thread and comment count
    placeholders ({% kiln_comments %}, {% kiln_count post %}), and a hook
    that runs `kiln bake` on the built site after every Jekyll build.
  TEXT
  spec.authors = ["kiln contributors"]
  spec.licenses = ["MIT", "Apache-2.0"]
  spec.files = ["lib/jekyll-kiln.rb", "README.md"]
  spec.require_paths = ["lib"]
  spec.required_ruby_version = ">= 2.7"
  spec.add_runtime_dependency "jekyll", ">= 4.0", "< 5.0"
  spec.metadata["rubygems_mfa_required"] = "true"
end
