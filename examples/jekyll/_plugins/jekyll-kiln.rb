# frozen_string_literal: true

# jekyll-kiln: kiln comments for Jekyll sites.
#
# kiln bakes approved comments into the HTML a static site generator wrote,
# wherever it finds `data-kiln-thread` and `data-kiln-count`. This plugin is
# Jekyll's side of that contract (see ssg-adapters/README.md in kiln):
#
#   {% kiln_comments %}     the thread placeholder for the page being rendered
#   {% kiln_count post %}   the comment-count placeholder for a page or post
#
# and a `:site, :post_write` hook that runs `kiln bake DESTINATION` in the
# site's directory after every build, `jekyll serve` included.
#
# It is one self-contained file on purpose: the same file is the gem
# (`plugins: [jekyll-kiln]`) and the copy a site drops into `_plugins/`.

# Loaded twice (gem and _plugins copy both present): keep the first, or the
# tags would be defined twice and every build baked twice.
return if defined?(Jekyll::Kiln::VERSION)

require "cgi"
require "digest"
require "json"
require "open3"
require "jekyll"

module Jekyll
  # The tags, the settings and the bake; the hooks at the end wire them in.
  module Kiln
    VERSION = "0.1.0"

    # The `kiln:` mapping in _config.yml, with every key's default.
    DEFAULTS = {
      # Run `kiln bake` after every build.
      "bake"      => true,
      # The kiln binary; $KILN_BIN overrides it. Relative to the site directory.
      "bin"       => "kiln",
      # Extra arguments for `kiln bake`, before the destination directory.
      "args"      => [],
      # Fail the build when bake fails. Unset: fail `jekyll build`, but only
      # warn under `jekyll serve` and `--watch`, so the dev loop keeps going.
      "strict"    => nil,
      # Where `kiln bake --fragments` writes, relative to the site directory.
      "fragments" => "_kiln",
    }.freeze

    # What each key must be, for a clear error instead of a confusing bake.
    KINDS = {
      "bake"      => [[true, false], "true or false"],
      "bin"       => [[String], "a path or command name"],
      "args"      => [[Array], "a list of strings"],
      "strict"    => [[true, false, nil], "true or false"],
      "fragments" => [[String], "a directory"],
    }.freeze

    class ConfigError < Jekyll::Errors::FatalException; end

    class BakeError < Jekyll::Errors::FatalException; end

    module_function

    # The `kiln:` settings of `site`, checked, with defaults filled in.
    def settings(site)
      given = site.config["kiln"] || {}
      unless given.is_a?(Hash)
        raise ConfigError, "kiln: `kiln` in _config.yml must be a mapping (e.g. `kiln: {bake: true}`)"
      end

      given.each { |key, value| check_setting(key, value) }
      if given.key?("args") && !given["args"].all?(String)
        raise ConfigError, "kiln: `kiln.args` in _config.yml must be a list of strings, " \
                           "e.g. [\"--site-url\", \"https://example.org\"]"
      end
      DEFAULTS.merge(given)
    end

    # Raises a ConfigError naming `kiln.KEY` unless it is a known setting
    # with a value of its kind.
    def check_setting(key, value)
      kinds, wanted = KINDS[key]
      unless kinds
        raise ConfigError, "kiln: unknown setting `kiln.#{key}` in _config.yml " \
                           "(known: #{DEFAULTS.keys.join(", ")})"
      end
      return if kinds.any? { |kind| kind.is_a?(Class) ? value.is_a?(kind) : value.equal?(kind) }

      raise ConfigError, "kiln: `kiln.#{key}` in _config.yml must be #{wanted}, not #{value.inspect}"
    end

    # The thread id of a page (a page, post or document as Liquid sees it), or
    # nil when it has `comments: false`. By default the page's published path,
    # base path included, exactly as a browser's `location.pathname` shows it:
    # what `{{ page.url | relative_url }}` gives, which is `site.baseurl` +
    # `page.url`. A `kiln_thread` in the front matter overrides it.
    def thread_id(context, page)
      return nil if page["comments"] == false

      own = page["kiln_thread"]
      return own.to_s if own && !own.to_s.empty?

      context.invoke("relative_url", page["url"]).to_s
    end

    def escape(value)
      CGI.escapeHTML(value.to_s)
    end

    # The fragments directory, or nil when there is none to read.
    def fragments_dir(site)
      dir = site.in_source_dir(settings(site)["fragments"])
      File.directory?(dir) ? dir : nil
    end

    # What `kiln bake --fragments` wrote for thread `id`, or "".
    def fragment(site, page, id)
      dir = fragments_dir(site) or return ""
      path = File.join(dir, "#{Digest::SHA256.hexdigest(id)}.html")
      depend_on(site, page, path)
      File.file?(path) ? File.read(path, encoding: "UTF-8") : ""
    end

    # The approved-comment count for thread `id` from the fragments'
    # counts.json, in the words of kiln's built-in count template, or "".
    def count_words(site, page, id)
      dir = fragments_dir(site) or return ""
      path = File.join(dir, "counts.json")
      depend_on(site, page, path)
      counts = counts(path) or return ""
      # counts.json lists every thread with comments; any other has none.
      count = counts.fetch(id, 0)
      return "" unless count.is_a?(Integer)

      case count
      when 0 then "No comments yet"
      when 1 then "1 comment"
      else "#{count} comments"
      end
    end

    # counts.json as a Hash (parsed once per version of the file), or nil
    # when there is none.
    def counts(path)
      return nil unless File.file?(path)

      stat = File.stat(path)
      key = [path, stat.mtime, stat.size]
      return @counts[1] if @counts && @counts[0] == key

      parsed = JSON.parse(File.read(path))
      @counts = [key, parsed.is_a?(Hash) ? parsed : {}]
      @counts[1]
    rescue SystemCallError
      nil
    rescue JSON::ParserError => e
      Jekyll.logger.warn "kiln:", "ignoring #{path}: #{e.message}"
      nil
    end

    # Under `--incremental`, a page must be rebuilt when its fragment changes.
    def depend_on(site, page, path)
      return unless site.incremental? && page.respond_to?(:key?) && page.key?("path")

      site.regenerator.add_dependency(site.in_source_dir(page["path"]), path)
    end

    # Whether a failed bake fails the build.
    def strict?(site, settings)
      return settings["strict"] unless settings["strict"].nil?

      !(site.config["serving"] || site.config["watch"])
    end

    # Runs `kiln bake DESTINATION` in the site's directory and reports what it
    # said through Jekyll's logger.
    def bake(site)
      settings = settings(site)
      return unless settings["bake"]

      bin = ENV.fetch("KILN_BIN", "")
      bin = settings["bin"] if bin.empty?
      command = [bin, "bake", *settings["args"], site.dest]
      Jekyll.logger.debug "kiln:", "running #{command.join(" ")} in #{site.source}"
      begin
        out, err, status = Open3.capture3(*command, chdir: site.source)
      rescue SystemCallError => e
        return bake_failed(site, settings, "could not run `#{bin}` (#{e.message}). Install kiln, " \
                                           "or set KILN_BIN or `kiln.bin` in _config.yml to its path " \
                                           "(`kiln.bake: false` turns baking off)")
      end
      report(out, err, status)
      return if status.success?

      how = status.exitstatus ? "exit code #{status.exitstatus}" : "signal #{status.termsig}"
      bake_failed(site, settings, "`#{command.join(" ")}` failed (#{how}); kiln's error is above")
    end

    # Passes on what bake printed through Jekyll's logger: its summary, and
    # its warnings, or its errors when it failed.
    def report(out, err, status)
      out.each_line { |line| Jekyll.logger.info "kiln:", line.chomp unless line.strip.empty? }
      level = status.success? ? :warn : :error
      err.each_line { |line| Jekyll.logger.public_send(level, "kiln:", line.chomp) }
    end

    def bake_failed(site, settings, message)
      raise BakeError, "kiln: #{message}" if strict?(site, settings)

      Jekyll.logger.warn "kiln:", message
      Jekyll.logger.warn "kiln:", "the site was built, but without fresh comments"
    end

    # `{% kiln_comments %}`: the thread placeholder for the page being
    # rendered, holding its fragment when there is one; nothing for a page
    # with `comments: false`.
    class CommentsTag < Liquid::Tag
      def initialize(tag_name, markup, parse_context)
        super
        return if markup.strip.empty?

        raise Liquid::SyntaxError, "kiln_comments takes no arguments; it is always for the " \
                                   "page being rendered (got `#{markup.strip}`)"
      end

      def render(context)
        site = context.registers[:site]
        page = context.registers[:page]
        id = Kiln.thread_id(context, page) or return ""

        fragment = Kiln.fragment(site, page, id)
        %(<section class="kiln-comments" data-kiln-thread="#{Kiln.escape(id)}">#{fragment}</section>)
      end
    end

    # `{% kiln_count post %}`: the count placeholder for a page or post (any
    # Liquid expression naming one), or for a thread id given as a string.
    class CountTag < Liquid::Tag
      def initialize(tag_name, markup, parse_context)
        super
        @markup = markup.strip
        raise Liquid::SyntaxError, "kiln_count needs a page or post, e.g. {% kiln_count post %}" if @markup.empty?

        @target = Liquid::Expression.parse(@markup)
      end

      def render(context)
        site = context.registers[:site]
        target = context.evaluate(@target)
        id = case target
             when String then target
             when Hash, Liquid::Drop then Kiln.thread_id(context, target)
             else
               raise Liquid::ArgumentError, "kiln_count: `#{@markup}` is #{target.inspect}, " \
                                            "not a page or post"
             end
        return "" if id.nil?

        words = Kiln.count_words(site, context.registers[:page], id)
        %(<span class="kiln-count" data-kiln-count="#{Kiln.escape(id)}">#{words}</span>)
      end
    end
  end
end

Liquid::Template.register_tag("kiln_comments", Jekyll::Kiln::CommentsTag)
Liquid::Template.register_tag("kiln_count", Jekyll::Kiln::CountTag)

# Never publish kiln's own files: its configuration, the fragments, and a
# comment database kept beside the site (`kiln serve` run in the site's
# directory creates kiln.sqlite3 there, e-mail addresses and all). (Before the
# settings are checked: this hook runs outside the build, where an error
# would end in a backtrace.)
Jekyll::Hooks.register :site, :after_init do |site|
  kiln = site.config["kiln"]
  fragments = kiln["fragments"] if kiln.is_a?(Hash)
  fragments = Jekyll::Kiln::DEFAULTS["fragments"] unless fragments.is_a?(String)
  site.exclude = (site.exclude || []) | ["kiln.toml", fragments, "*.sqlite3", "*.sqlite3-*"]
end

# Check the settings at the start of every build, so a mistake stops it with
# a plain message before anything is rendered.
Jekyll::Hooks.register :site, :post_read do |site|
  Jekyll::Kiln.settings(site)
end

# Low priority: bake what every other plugin's post_write hook left behind.
Jekyll::Hooks.register :site, :post_write, priority: :low do |site|
  Jekyll::Kiln.bake(site)
end
