using TorchDoctor.Cli;

return new CliApp(Console.Out, Console.Error, interactive: !Console.IsOutputRedirected).Run(args);
